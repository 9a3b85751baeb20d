// tokenledger: API tokens as an event-sourced ledger. One binary, subcommands.

#include <iostream>
#include <string>
#include <vector>

#include "services/cli/admin_commands.h"
#include "services/cli/kafka_cli.h"
#include "services/http/metrics.h"
#include "services/cli/serve_command.h"
#include "services/cli/token_cli.h"

namespace {

constexpr const char* kHelp = R"(usage: tokenledger <command> [flags]

  serve      --data DIR [--listen HOST:PORT] [--tls-cert F --tls-key F] [--threads N]
             [--kafka-brokers B [--kafka-topic T] [--kafka-property k=v]...]
             (relay to Kafka; or TOKENLEDGER_KAFKA_BROKERS / TOKENLEDGER_KAFKA_TOPIC)
  log verify --data DIR                      check every CRC and the hash chain
  log export --data DIR [--from POSITION]    events as CloudEvents JSON lines
  replay     --data DIR [--until POSITION|TIME] [--out FILE]
  replay     --from-kafka --brokers B [--topic T]   (topic default: tokenledger.events)
  restore    --from-kafka --brokers B [--topic T] --data NEWDIR
  backup     --data DIR --to DEST                a consistent copy, also of a running serve's DIR
  consume    --brokers B [--topic T] --group G [--from-beginning] [--type T] [--max-idle-ms N]
  dev-kafka  [--brokers 3] [--port P]
             (serve, consume and dev-kafka take --help)
  token      create|list|show|update|regenerate|revoke|credits|verify|events|usage
             (uses TOKENLEDGER_ADDR and TOKENLEDGER_TOKEN; --help for details)
  version    the version of this binary
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "help") {
    std::cout << kHelp;
    return args.empty() ? 2 : 0;
  }
  const std::string cmd = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "version" || cmd == "--version") {
    std::cout << "tokenledger " << tl::BuildVersion() << "\n";
    return 0;
  }
  if (cmd == "serve") return tl::RunServe(rest);
  if (cmd == "replay") return tl::RunReplay(rest);
  if (cmd == "restore") return tl::RunRestore(rest);
  if (cmd == "backup") return tl::RunBackup(rest);
  if (cmd == "consume") return tl::RunConsume(rest);
  if (cmd == "dev-kafka") return tl::RunDevKafka(rest);
  if (cmd == "token") return tl::RunTokenCli(rest);
  if (cmd == "log" && !rest.empty()) {
    std::vector<std::string> sub(rest.begin() + 1, rest.end());
    if (rest[0] == "verify") return tl::RunLogVerify(sub);
    if (rest[0] == "export") return tl::RunLogExport(sub);
  }
  std::cerr << "tokenledger: unknown command\n" << kHelp;
  return 2;
}
