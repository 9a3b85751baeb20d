#include "services/cli/cli_app.h"

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "services/cli/admin_commands.h"
#include "services/cli/cli_args.h"
#include "services/cli/cluster_cli.h"
#include "services/cli/completion.h"
#include "services/cli/kafka_cli.h"
#include "services/cli/serve_command.h"
#include "services/cli/token_cli.h"
#include "services/domain/secret.h"
#include "services/http/metrics.h"

namespace tl {
namespace {

constexpr const char* kOverview = R"(Commands at a glance:
  serve      --data DIR [--listen HOST:PORT] [--tls-cert F --tls-key F] [--verify-listen HOST:PORT]
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
  cluster    status|verify --brokers B --topic T    a cluster topic's partitions, read from Kafka
  token      create|list|show|update|regenerate|revoke|credits|verify|events|usage
             (TOKENLEDGER_ADDR and TOKENLEDGER_TOKEN, or --addr, --token-file, --ca-cert)
  version    the version of this binary
  completion bash    a bash completion script: source <(tokenledger completion bash)
Every command takes --help: `tokenledger token create --help`.)";

const CommandSpec kVersionSpec{.name = "version", .about = "print the version of this binary"};
const CommandSpec kCompletionSpec{.name = "completion", .about = "shell completion scripts"};
const CommandSpec kBashSpec{
    .name = "bash",
    .about = "print a bash completion script",
    .footer =
        "Install: source <(tokenledger completion bash)   (in ~/.bashrc), or\n"
        "  tokenledger completion bash > ~/.local/share/bash-completion/completions/"
        "tokenledger"};
const CommandSpec kLogSpec{.name = "log", .about = "the local log: verify, export"};

std::string VersionLine() { return "tokenledger " + std::string(BuildVersion()); }

// The command tree: every node with its spec, the leaves with what they run.
class CommandTree {
 public:
  CommandTree() : app_("tokenledger: API tokens as an event-sourced ledger", "tokenledger") {
    app_.set_help_flag("-h,--help", "print this help and exit");
    // Wide enough for the longest flag with its value on one line.
    app_.get_formatter()->column_width(36);
    app_.set_version_flag("--version", VersionLine(), "print the version and exit");
    // Unrecognised words are kept and named by CliArgs (redacted), not
    // echoed by CLI11.
    app_.allow_extras();
    app_.require_subcommand(0, 1);
    app_.footer(kOverview);
    Leaf(app_, ServeSpec(), [](const CliArgs& a) { return RunServe(a); });
    CLI::App* log = Group(app_, kLogSpec);
    Leaf(*log, LogVerifySpec(), [](const CliArgs& a) { return RunLogVerify(a); });
    Leaf(*log, LogExportSpec(), [](const CliArgs& a) { return RunLogExport(a); });
    Leaf(app_, ReplaySpec(), [](const CliArgs& a) { return RunReplay(a); });
    Leaf(app_, RestoreSpec(), [](const CliArgs& a) { return RunRestore(a); });
    Leaf(app_, BackupSpec(), [](const CliArgs& a) { return RunBackup(a); });
    Leaf(app_, ConsumeSpec(), [](const CliArgs& a) { return RunConsume(a); });
    Leaf(app_, DevKafkaSpec(), [](const CliArgs& a) { return RunDevKafka(a); });
    CLI::App* cluster = Group(app_, ClusterGroupSpec());
    for (const CommandSpec& verb : ClusterVerbSpecs()) {
      Leaf(*cluster, verb,
           [name = verb.name](const CliArgs& a) { return RunClusterVerb(name, a); });
    }
    CLI::App* token = Group(app_, TokenGroupSpec());
    for (const CommandSpec& verb : TokenVerbSpecs()) {
      Leaf(*token, verb, [name = verb.name](const CliArgs& a) { return RunTokenVerb(name, a); });
    }
    Leaf(app_, kVersionSpec, [](const CliArgs&) {
      std::cout << VersionLine() << "\n";
      return 0;
    });
    CLI::App* completion = Group(app_, kCompletionSpec);
    Leaf(*completion, kBashSpec, [this](const CliArgs&) {
      std::cout << BashCompletionScript(app_);
      return 0;
    });
  }
  CommandTree(const CommandTree&) = delete;
  CommandTree& operator=(const CommandTree&) = delete;

  int Run(std::vector<std::string> args);

 private:
  CLI::App* Group(CLI::App& parent, const CommandSpec& spec) {
    CLI::App* app = AddCommand(parent, spec);
    app->require_subcommand(0, 1);
    specs_[app] = &spec;
    return app;
  }
  void Leaf(CLI::App& parent, const CommandSpec& spec, std::function<int(const CliArgs&)> run) {
    CLI::App* app = AddCommand(parent, spec);
    specs_[app] = &spec;
    runners_[app] = std::move(run);
  }

  CLI::App app_;
  std::map<const CLI::App*, const CommandSpec*> specs_;
  std::map<const CLI::App*, std::function<int(const CliArgs&)>> runners_;
};

int CommandTree::Run(std::vector<std::string> args) {
  if (args.empty()) {
    std::cout << app_.help();
    return 2;
  }
  // `tokenledger help [COMMAND...]` is `tokenledger [COMMAND...] --help`.
  if (args[0] == "help") {
    args.erase(args.begin());
    args.push_back("--help");
  }
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  // The chosen command's words ("tokenledger token create"), for messages.
  auto where = [this] {
    std::string out = app_.get_name();
    for (const CLI::App* n = &app_; !n->get_subcommands().empty();) {
      n = n->get_subcommands().front();
      out += " " + n->get_name();
    }
    return out;
  };
  try {
    app_.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    std::cout << app_.help();
    return 0;
  } catch (const CLI::CallForVersion& e) {
    std::cout << e.what() << "\n";
    return 0;
  } catch (const CLI::ParseError& e) {
    std::cerr << where() << ": " << DescribeParseError(e) << "\nrun `" << where()
              << " --help` for its flags\n";
    return 2;
  }
  std::vector<std::pair<const CLI::App*, const CommandSpec*>> path;
  std::vector<std::string> extras = app_.remaining();
  const CLI::App* node = &app_;
  while (!node->get_subcommands().empty()) {
    node = node->get_subcommands().front();
    path.emplace_back(node, specs_.at(node));
    for (std::string& e : node->remaining()) extras.push_back(std::move(e));
  }
  const std::string name = where();
  auto run = runners_.find(node);
  if (run == runners_.end()) {
    // The program itself or a group (`token`, `log`): a verb is missing or unknown.
    std::string verbs;
    for (const CLI::App* sub : node->get_subcommands([](const CLI::App*) { return true; })) {
      verbs += (verbs.empty() ? "" : ", ") + sub->get_name();
    }
    if (extras.empty()) {
      std::cerr << name << ": needs a command: " << verbs << "\n";
    } else if (extras[0].size() > 1 && extras[0][0] == '-') {
      std::cerr << name << ": unknown flag " << extras[0].substr(0, extras[0].find('=')) << "\n";
    } else {
      std::cerr << name << ": unknown command '" << RedactSecrets(extras[0])
                << "' (commands: " << verbs << ")\n";
    }
    std::cerr << "run `" << name << " --help` for more\n";
    return 2;
  }
  CliArgs a = CliArgs::FromParsed(path, extras);
  if (!a.ok()) {
    std::cerr << name << ": " << a.error() << "\nrun `" << name << " --help` for its flags\n";
    return 2;
  }
  return run->second(a);
}

}  // namespace

int RunCli(int argc, char** argv) {
  CommandTree tree;
  return tree.Run(std::vector<std::string>(argv + 1, argv + argc));
}

}  // namespace tl
