#include "services/cli/admin_commands.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "events/dir_lock.h"
#include "events/file_util.h"
#include "events/high_water_mark.h"
#include "events/kafka_relay.h"
#include "events/log.h"
#include "events/log_scan.h"
#include "events/time_format.h"
#include "projections/replay.h"
#include "projections/snapshot.h"
#include "services/cli/cli_args.h"
#include "services/cli/kafka_cli.h"

namespace tl {
namespace {

std::string LogDir(const std::string& data) { return data + "/log"; }

// Prints the usage text; returns exit code 2.
int Usage(const std::string& text) {
  std::cerr << "usage: tokenledger " << text << "\n";
  return 2;
}

const FlagSpec kDataFlag{"data", "DIR", "the data directory"};
const FlagSpec kBrokersFlag{"brokers", "HOST:PORT[,...]", "the Kafka brokers"};
const FlagSpec kTopicFlag{"topic", "NAME", "the topic (default tokenledger.events)"};
const FlagSpec kPropertyFlag{"kafka-property", "KEY=VALUE", "any librdkafka property (repeat)",
                             true};
const FlagSpec kFromKafkaFlag{"from-kafka", "", "read the history from a Kafka topic"};

// The topic's whole verified history for replay/restore --from-kafka.
Result<std::vector<Event>> EventsFromKafka(const CliArgs& a) {
  auto properties = ParseKeyValues(a.GetAll("kafka-property"), "kafka-property");
  if (!properties.ok()) return properties.error();
  return ReadEventsFromKafka(*a.Get("brokers"), a.Get("topic", "tokenledger.events"), *properties);
}

void PrintState(const Projection& p) {
  std::cout << "digest: " << p.Digest() << "\n"
            << "position: " << p.last_position().value() << std::endl;
}

}  // namespace

const CommandSpec& LogVerifySpec() {
  static const CommandSpec spec{
      .name = "verify",
      .about = "check every CRC and the hash chain of a data directory's log",
      .flags = {kDataFlag},
      .footer =
          "Read-only: it may run beside the serve that writes DIR. Exit 0 when intact,\n"
          "1 on damage (named with its position and the repair path), 2 on a usage error.",
  };
  return spec;
}

int RunLogVerify(const CliArgs& a) {
  if (!a.Has("data")) return Usage("log verify --data DIR");
  const std::string data = *a.Get("data");
  // Read-only, so it may run beside the process that holds the directory;
  // that process may be writing the log's last record right now.
  const std::optional<long> writer = DirLock::Holder(data);
  auto mark = ReadHighWaterMark(data);
  if (!mark.ok()) {
    std::cerr << "log verify: FAILED: " << mark.error().message << "\n";
    return 1;
  }
  std::string hash_at_mark;
  auto summary = ScanLog(LogDir(data), {.parse_data = false, .verify_hashes = true},
                         [&](const ScannedRecord& r) {
                           if (*mark && r.event.position == (*mark)->position) {
                             hash_at_mark = r.event.hash;
                           }
                           return true;
                         });
  if (!summary.ok()) {
    std::cerr << "log verify: FAILED: " << summary.error().message << "\n";
    return 1;
  }
  const std::string repair =
      ": acknowledged events are missing from the log. Restore the data directory "
      "from a replica (`tokenledger restore --from-kafka --data NEWDIR`) or a backup\n";
  if (*mark && (*mark)->position > summary->last) {
    std::cerr << "log verify: FAILED: position " << (*mark)->position.value()
              << " was acknowledged (" << HighWaterMarkPath(data)
              << ") but the log ends at position " << summary->last.value() << repair;
    return 1;
  }
  if (*mark && (*mark)->position != Position(0) && hash_at_mark != (*mark)->hash) {
    std::cerr << "log verify: FAILED: position " << (*mark)->position.value()
              << " was acknowledged with hash " << (*mark)->hash << " (" << HighWaterMarkPath(data)
              << ") but the log holds another event there" << repair;
    return 1;
  }
  const std::string snapshot_dir = data + "/snapshots";
  if (const Position snapshot = NewestSnapshotPosition(snapshot_dir); snapshot > summary->last) {
    std::cerr << "log verify: FAILED: a snapshot in " << snapshot_dir << " covers position "
              << snapshot.value() << " but the log ends at position " << summary->last.value()
              << repair;
    return 1;
  }
  std::cout << "events: " << summary->events << "\n"
            << "last position: " << summary->last.value() << "\n"
            << "last hash: " << summary->last_hash << "\n";
  if (summary->torn_tail.unwritten) {
    // A running server preallocates the newest segment ahead of its writes.
    std::cerr << "log verify: unwritten space after position " << summary->last.value()
              << " (zeros from byte " << summary->torn_tail.offset
              << " of the newest segment): preallocated by the log; nothing is missing\n";
  } else if (summary->torn_tail.kind == SegmentDamage::kTorn && writer) {
    std::cerr << "log verify: the log is being written by process " << *writer << " (it holds "
              << data << "/LOCK): the bytes after position " << summary->last.value() << " ("
              << summary->torn_tail.reason << " at byte " << summary->torn_tail.offset
              << " of the newest segment) are a write in progress; not verified\n";
  } else if (summary->torn_tail.kind == SegmentDamage::kTorn) {
    std::cerr << "log verify: torn tail at position " << summary->last.value() + 1 << " ("
              << summary->torn_tail.reason << " at byte " << summary->torn_tail.offset
              << " of the newest segment): an interrupted write that no snapshot covers; "
                 "`tokenledger serve` cuts it on start\n";
    return 1;
  }
  if (writer) {
    std::cout << "verified up to position " << summary->last.value() << " while process " << *writer
              << " writes the log\n";
  }
  std::cout << "ok" << std::endl;
  return 0;
}

const CommandSpec& LogExportSpec() {
  static const CommandSpec spec{
      .name = "export",
      .about = "print the log's events as CloudEvents JSON lines",
      .flags = {kDataFlag, {"from", "POSITION", "start at this position (default 1)"}},
  };
  return spec;
}

int RunLogExport(const CliArgs& a) {
  if (!a.Has("data")) return Usage("log export --data DIR [--from POSITION]");
  auto from = ParseUint(a.Get("from", "1"));
  if (!from) {
    std::cerr << "log export: --from must be a position, a whole number such as 1\n";
    return 2;
  }
  ScanOptions options;
  options.skip_before = Position(*from);
  options.verify_hashes = true;  // nothing altered leaves as if it were the log's
  auto summary = ScanLog(LogDir(*a.Get("data")), options, [](const ScannedRecord& r) {
    std::string line = ToCloudEvent(r.event).dump() + "\n";
    std::fwrite(line.data(), 1, line.size(), stdout);
    return true;
  });
  std::fflush(stdout);
  if (!summary.ok()) {
    std::cerr << "log export: " << summary.error().message << "\n";
    return 1;
  }
  if (std::string notice = TornTailNotice(*summary); !notice.empty()) {
    std::cerr << "log export: warning: " << notice << "\n";
  }
  return 0;
}

const CommandSpec& ReplaySpec() {
  static const CommandSpec spec{
      .name = "replay",
      .about = "rebuild the state from the log or a Kafka topic and print its digest",
      .flags = {kDataFlag,
                {"until", "POSITION|TIME", "stop at a position or an RFC 3339 time"},
                {"out", "FILE", "also write the state as JSON to FILE"},
                kFromKafkaFlag,
                kBrokersFlag,
                kTopicFlag,
                kPropertyFlag},
      .footer = "One source: --data DIR, or --from-kafka --brokers B [--topic T].",
  };
  return spec;
}

int RunReplay(const CliArgs& a) {
  const char* usage =
      "replay --data DIR [--until POSITION|TIME] [--out FILE]\n"
      "       tokenledger replay --from-kafka --brokers HOST:PORT [--topic NAME] [--until ...] "
      "[--out FILE]\n"
      "  --topic defaults to tokenledger.events";
  // One source: the local log or the topic, never a silently ignored second one.
  if (a.Has("from-kafka") && a.Has("data")) {
    std::cerr << "replay: --data and --from-kafka are two sources; give one\n";
    return Usage(usage);
  }
  if (!a.Has("from-kafka") && (a.Has("brokers") || a.Has("topic") || a.Has("kafka-property"))) {
    std::cerr << "replay: --brokers, --topic and --kafka-property need --from-kafka\n";
    return Usage(usage);
  }
  ReplayLimit limit;
  if (auto until = a.Get("until")) {
    if (auto pos = ParseUint(*until)) {
      limit.until = Position(*pos);
    } else if (auto t = ParseRfc3339(*until)) {
      limit.until_time_ms = *t;
    } else {
      std::cerr << "replay: --until must be a position or an RFC 3339 time\n";
      return 2;
    }
  }
  Projection p;
  if (a.Has("from-kafka")) {
    if (!a.Has("brokers")) return Usage(usage);
    auto events = EventsFromKafka(a);
    if (!events.ok()) {
      std::cerr << "replay: " << events.error().message << "\n";
      return 1;
    }
    for (const Event& e : *events) {
      if (limit.until && e.position > *limit.until) break;
      if (limit.until_time_ms && e.time_ms > *limit.until_time_ms) break;
      p.Apply(e);
    }
  } else {
    if (!a.Has("data")) return Usage(usage);
    ReplayChecks checks{.verify_hashes = true, .warn = [](std::string_view w) {
                          std::cerr << "replay: warning: " << w << "\n";
                        }};
    auto replayed = ReplayLog(LogDir(*a.Get("data")), p, limit, checks);
    if (!replayed.ok()) {
      std::cerr << "replay: " << replayed.error().message << "\n";
      return 1;
    }
  }
  if (auto out = a.Get("out")) {
    std::ofstream f(*out);
    f << p.ToJson().dump() << "\n";
    if (!f) {
      std::cerr << "replay: cannot write " << *out << "\n";
      return 1;
    }
  }
  PrintState(p);
  return 0;
}

const CommandSpec& RestoreSpec() {
  static const CommandSpec spec{
      .name = "restore",
      .about = "write a new data directory from a Kafka topic's history",
      .flags = {kFromKafkaFlag,
                kBrokersFlag,
                kTopicFlag,
                kPropertyFlag,
                {"data", "NEWDIR", "the new data directory (its log must be empty)"}},
  };
  return spec;
}

int RunRestore(const CliArgs& a) {
  const char* usage =
      "restore --from-kafka --brokers HOST:PORT [--topic NAME] --data NEWDIR\n"
      "  --topic defaults to tokenledger.events";
  if (!a.ok() || !a.Has("from-kafka") || !a.Has("brokers") || !a.Has("data")) return Usage(usage);
  const std::string dir = LogDir(*a.Get("data"));
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_empty(dir, ec)) {
    std::cerr << "restore: " << dir << " is not empty; restore writes a fresh log only\n";
    return 1;
  }
  // Held until the restore ends: no serve may start on the half-written log.
  auto lock = DirLock::Acquire(*a.Get("data"));
  if (!lock.ok()) {
    std::cerr << "restore: " << lock.error().message << "\n";
    return 1;
  }
  auto events = EventsFromKafka(a);
  if (!events.ok()) {
    std::cerr << "restore: " << events.error().message << "\n";
    return 1;
  }
  auto log = EventLog::Open(dir);
  if (!log.ok()) {
    std::cerr << "restore: " << log.error().message << "\n";
    return 1;
  }
  constexpr size_t kBatch = 4096;
  for (size_t i = 0; i < events->size(); i += kBatch) {
    std::vector<Event> batch(events->begin() + i,
                             events->begin() + std::min(events->size(), i + kBatch));
    if (Status s = (*log)->AppendVerbatim(batch); !s.ok()) {
      std::cerr << "restore: " << s.error().message << "\n";
      return 1;
    }
  }
  {
    const auto [position, hash] = (*log)->DurableMark();
    if (Status s = WriteHighWaterMark(*a.Get("data"), {position, hash}); !s.ok()) {
      std::cerr << "restore: " << s.error().message << "\n";
      return 1;
    }
  }
  // Everything restored is already in the topic: a relay started on this
  // directory resumes after it instead of sending the whole history again.
  const std::string topic = a.Get("topic", "tokenledger.events");
  const Position restored = events->empty() ? Position(0) : events->back().position;
  if (Status s = KafkaRelay::WriteCheckpoint(*a.Get("data") + "/relay.checkpoint", topic, restored);
      !s.ok()) {
    std::cerr << "restore: " << s.error().message << "\n";
    return 1;
  }
  Projection p;
  for (const Event& e : *events) p.Apply(e);
  std::cout << "restored events: " << events->size() << "\n";
  PrintState(p);
  return 0;
}

namespace {

namespace fs = std::filesystem;

// `to` as a hard link of `from` when both are on one file system, else a
// copy of its first `bytes` bytes (all of it when nullopt), made durable.
// Returns whether it linked.
Result<bool> LinkOrCopy(const std::string& from, const std::string& to,
                        std::optional<uint64_t> bytes) {
  if (!bytes && ::link(from.c_str(), to.c_str()) == 0) return true;
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return MakeError(ErrorCode::kIo, "cannot open " + from + ": " + std::strerror(errno));
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kPrivateFileMode);
  if (out < 0) {
    ::close(in);
    return MakeError(ErrorCode::kIo, "cannot create " + to + ": " + std::strerror(errno));
  }
  std::string buffer(1 << 20, '\0');
  uint64_t done = 0;
  bool ok = true;
  while (ok && (!bytes || done < *bytes)) {
    const size_t want = bytes ? std::min<uint64_t>(buffer.size(), *bytes - done) : buffer.size();
    const ssize_t n = ::pread(in, buffer.data(), want, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = n == 0 && !bytes;  // the file ended before the bytes asked for
      break;
    }
    ok = WriteAll(out, std::string_view(buffer.data(), static_cast<size_t>(n)));
    done += static_cast<uint64_t>(n);
  }
  ok = ok && ::fsync(out) == 0;
  const int err = errno;
  ::close(in);
  ::close(out);
  if (!ok) return MakeError(ErrorCode::kIo, "cannot copy " + from + ": " + std::strerror(err));
  return false;
}

// Snapshot files in `dir` by position, newest first.
std::vector<std::pair<Position, std::string>> SnapshotFiles(const std::string& dir) {
  std::vector<std::pair<Position, std::string>> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != 34 || name.rfind("snapshot-", 0) != 0 || !name.ends_with(".json")) continue;
    if (auto p = ParseUint(name.substr(9, 20)))
      out.emplace_back(Position(*p), entry.path().string());
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  return out;
}

}  // namespace

// What is copied is the log up to the high-water mark M: durable in DIR (the
// mark is never ahead of the log), so a history DIR can never take back.
// Sealed segments never change again and are hard-linked; the segment that
// holds M is copied up to M's record end, so a write in progress (or space a
// later failed write may cut) is left out. The newest snapshot at or before
// M comes along (linked, or copied once opened, so the writer deleting it
// meanwhile does no harm); none: the restored serve replays the whole log.
const CommandSpec& BackupSpec() {
  static const CommandSpec spec{
      .name = "backup",
      .about = "a consistent copy of a data directory, also of a running serve's",
      .flags = {kDataFlag, {"to", "DEST", "where the copy goes (a new or empty directory)"}},
      .footer = "Restoring is `tokenledger serve --data DEST`.",
  };
  return spec;
}

int RunBackup(const CliArgs& a) {
  if (!a.Has("data") || !a.Has("to")) return Usage("backup --data DIR --to DEST");
  const std::string data = *a.Get("data"), dest = *a.Get("to");
  auto fail = [](const std::string& m) {
    std::cerr << "backup: " << m << "\n";
    return 1;
  };
  std::error_code ec;
  if (fs::exists(dest, ec) && !fs::is_empty(dest, ec)) return fail(dest + " is not empty");
  // Snapshots are listed before the mark is read: any of them at or before
  // the mark is then durable in DIR's log.
  const auto snapshots = SnapshotFiles(data + "/snapshots");
  auto mark = ReadHighWaterMark(data);
  if (!mark.ok()) return fail(mark.error().message);
  if (!*mark) return fail("no high-water mark in " + data + " (" + HighWaterMarkPath(data) + ")");
  const HighWaterMark m = **mark;
  // Where M ends: at the next record's offset in its segment, or at the end
  // of its (sealed, cut to its last record) segment.
  size_t m_segment = 0;
  std::optional<uint64_t> m_end;
  std::string m_hash;
  auto scanned = ScanLog(LogDir(data), {.parse_data = false}, [&](const ScannedRecord& r) {
    if (r.event.position == m.position) {
      m_segment = r.segment;
      m_hash = r.event.hash;
      return true;
    }
    if (r.event.position == m.position.next() && r.segment == m_segment) m_end = r.offset;
    return r.event.position < m.position;
  });
  if (!scanned.ok()) return fail(scanned.error().message);
  if (m.position != Position(0) && (scanned->last < m.position || m_hash != m.hash)) {
    return fail("the log in " + data + " does not reach its high-water mark (position " +
                std::to_string(m.position.value()) + "); run `tokenledger log verify --data " +
                data + "`");
  }
  if (Status s = MakePrivateDir(dest + "/log"); !s.ok()) return fail(s.error().message);
  size_t linked = 0, copied = 0;
  for (size_t i = 0; i < scanned->segments.size() && m.position != Position(0); ++i) {
    if (i > m_segment) break;
    const std::string& from = scanned->segments[i].second;
    const std::string to = dest + "/log/" + fs::path(from).filename().string();
    const bool sealed = i + 1 < scanned->segments.size() && i < m_segment;
    std::optional<uint64_t> bytes;
    if (!sealed) {
      // M's segment: up to M's end. When M is its last record and a newer
      // segment exists, the segment is sealed at exactly that end.
      bytes = m_end ? *m_end : fs::file_size(from, ec);
      if (ec) return fail("cannot size " + from + ": " + ec.message());
      if (!m_end && i + 1 == scanned->segments.size()) {
        // The newest segment, M its last whole record: cut where the scan
        // stopped reading whole records (zeros or a write in progress follow).
        bytes = scanned->torn_tail.kind == SegmentDamage::kTorn ? scanned->torn_tail.offset
                                                                : scanned->newest_segment_size;
      }
    }
    auto done = LinkOrCopy(from, to, bytes);
    if (!done.ok()) return fail(done.error().message);
    ++(*done ? linked : copied);
  }
  Position snapshot_at;
  for (const auto& [at, path] : snapshots) {
    if (at > m.position) continue;
    if (Status s = MakePrivateDir(dest + "/snapshots"); !s.ok()) return fail(s.error().message);
    auto done = LinkOrCopy(path, dest + "/snapshots/" + fs::path(path).filename().string(), {});
    if (!done.ok()) continue;  // removed by the snapshot writer meanwhile: try an older one
    snapshot_at = at;
    break;
  }
  if (Status s = WriteHighWaterMark(dest, m); !s.ok()) return fail(s.error().message);
  if (Status s = SyncDirectory(dest + "/log"); !s.ok()) return fail(s.error().message);
  std::cout << "backup of position " << m.position.value() << " (hash " << m.hash << ") in " << dest
            << ": " << linked << " segments linked, " << copied << " copied; snapshot "
            << (snapshot_at == Position(0) ? std::string("none")
                                           : "of position " + std::to_string(snapshot_at.value()))
            << std::endl;
  return 0;
}

}  // namespace tl
