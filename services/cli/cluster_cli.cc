#include "services/cli/cluster_cli.h"

#include <cstdio>
#include <string>

#include "events/partition_scan.h"

namespace tl {
namespace {

std::vector<FlagSpec> TopicFlags() {
  return {{"brokers", "HOST:PORT[,...]", "the Kafka brokers"},
          {"topic", "NAME", "the cluster topic"},
          {"property", "KEY=VALUE", "any librdkafka property (repeat)", true}};
}

// Reads the flags every verb shares; prints the problem and returns nullopt
// (exit code in `code`) when they are not usable.
std::optional<ReaderOptions> TopicOptions(const std::string& verb, const CliArgs& a, int& code) {
  ReaderOptions o;
  o.brokers = a.Get("brokers", "");
  o.topic = a.Get("topic", "");
  if (o.brokers.empty() || o.topic.empty()) {
    std::fprintf(stderr, "tokenledger cluster %s: --brokers and --topic are required\n",
                 verb.c_str());
    code = 2;
    return std::nullopt;
  }
  auto props = ParseKeyValues(a.GetAll("property"), "property");
  if (!props.ok()) {
    std::fprintf(stderr, "tokenledger cluster %s: %s\n", verb.c_str(),
                 props.error().message.c_str());
    code = 2;
    return std::nullopt;
  }
  o.properties = *props;
  return o;
}

void PrintStatus(const std::vector<PartitionSummary>& parts) {
  std::printf("%-9s  %-20s  %5s  %9s  %9s  %10s\n", "partition", "owner", "epoch", "events",
              "fenced", "end offset");
  for (const PartitionSummary& p : parts) {
    std::printf("%-9d  %-20s  %5llu  %9llu  %9llu  %10lld\n", p.partition,
                p.owner.empty() ? "-" : p.owner.c_str(), static_cast<unsigned long long>(p.epoch),
                static_cast<unsigned long long>(p.counted),
                static_cast<unsigned long long>(p.fenced), static_cast<long long>(p.end_offset));
  }
}

// Every partition's history must count for what its records say: an event
// whose hash does not match its contents was altered after it was written.
// Fenced writes (a node that lost its partition) and foreign records are
// expected in a healthy topic and only reported.
int Verify(const std::vector<PartitionSummary>& parts) {
  uint64_t events = 0;
  uint64_t altered = 0;
  for (const PartitionSummary& p : parts) {
    events += p.counted;
    altered += p.altered;
    std::printf(
        "partition %d: %llu events, last position %llu, hash %s; %llu fenced, %llu unlinked, "
        "%llu foreign\n",
        p.partition, static_cast<unsigned long long>(p.counted),
        static_cast<unsigned long long>(p.last_position.value()), p.last_hash.c_str(),
        static_cast<unsigned long long>(p.fenced), static_cast<unsigned long long>(p.unlinked),
        static_cast<unsigned long long>(p.foreign));
    if (p.altered > 0) {
      std::fprintf(stderr, "tokenledger cluster verify: partition %d holds %llu altered event(s)\n",
                   p.partition, static_cast<unsigned long long>(p.altered));
    }
  }
  std::printf("events: %llu in %zu partitions\n", static_cast<unsigned long long>(events),
              parts.size());
  return altered > 0 ? 3 : 0;
}

}  // namespace

const CommandSpec& ClusterGroupSpec() {
  static const CommandSpec spec{.name = "cluster",
                                .about = "a cluster topic read from Kafka: status, verify"};
  return spec;
}

const std::vector<CommandSpec>& ClusterVerbSpecs() {
  static const std::vector<CommandSpec> specs{
      {.name = "status",
       .about = "each partition's owner, epoch and events, as the topic holds them",
       .flags = TopicFlags(),
       .footer = "Reads every partition from offset 0 to its end (no group join). Exit 1 when "
                 "the\nbrokers do not answer, or the topic is missing, empty or lost history."},
      {.name = "verify",
       .about = "check every partition's hash chain, read from Kafka",
       .flags = TopicFlags(),
       .footer = "Each partition's events are checked as every node reads them: under the "
                 "newest\nclaim, in position order, linked and hashed. Exit 3 when an event was "
                 "altered;\nfenced writes of a node that lost its partition are counted, not "
                 "errors."}};
  return specs;
}

int RunClusterVerb(const std::string& name, const CliArgs& a) {
  int code = 0;
  std::optional<ReaderOptions> o = TopicOptions(name, a, code);
  if (!o) return code;
  auto parts = ScanClusterTopic(*o);
  if (!parts.ok()) {
    std::fprintf(stderr, "tokenledger cluster %s: %s\n", name.c_str(),
                 parts.error().message.c_str());
    return 1;
  }
  if (name == "status") {
    PrintStatus(*parts);
    return 0;
  }
  return Verify(*parts);
}

}  // namespace tl
