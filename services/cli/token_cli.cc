#include "services/cli/token_cli.h"

#include <httplib.h>

#include <algorithm>
#include <iostream>

#include "events/event.h"
#include "services/cli/api_client.h"
#include "services/cli/secret_input.h"
#include "services/cli/token_output.h"
#include "services/cli/verify_exit_codes.h"

namespace tl {
namespace {

struct Usage {
  std::string message;
};

// The verb's own flags followed by the client flags.
CommandSpec Verb(std::string name, std::string about, std::vector<FlagSpec> flags,
                 std::vector<std::pair<std::string, std::string>> positionals = {},
                 std::string footer = "") {
  for (FlagSpec& f : ClientFlags()) flags.push_back(std::move(f));
  return {.name = std::move(name),
          .about = std::move(about),
          .flags = std::move(flags),
          .positionals = std::move(positionals),
          .footer = std::move(footer)};
}

const std::pair<std::string, std::string> kIdArg{"ID", "the token's id (tok_...)"};

std::vector<CommandSpec> MakeVerbSpecs() {
  // The settings create and update share.
  const std::vector<FlagSpec> settings{
      {"name", "NAME", "a name for people"},
      {"description", "TEXT", "a longer description"},
      {"owner", "OWNER", "the owner (tenant; fixed at creation)"},
      {"preset", "read-only|full-access", "a permission preset"},
      {"permission", "PERM", "a permission such as reports:read (repeat)", true},
      {"expires-in", "DURATION", "expires after DURATION (30d, 12h, ...)"},
      {"expires-at", "TIME", "expires at TIME (RFC 3339)"},
      {"refill-amount", "N", "credits added back each interval"},
      {"refill-interval", "day|month", "the refill interval (day)"},
      {"rate-limit", "N", "at most N uses per window"},
      {"rate-window-ms", "MS", "the rate limit's window (60000)"},
      {"origin", "ORIGIN", "an allowed origin (repeat)", true},
      {"ip", "CIDR", "an allowed network (repeat)", true},
      {"prefix", "PREFIX", "the secret's prefix (1 to 8 of a-z 0-9; fixed at creation)"},
      {"meta", "JSON", "a JSON object kept with the token"},
  };
  auto with_settings = [&settings](std::vector<FlagSpec> own) {
    own.insert(own.begin(), settings.begin(), settings.end());
    return own;
  };
  return {
      Verb("create", "create a token; its secret is printed once",
           with_settings(
               {{"credits", "N", "a credit balance (unlimited when not given)"},
                {"idempotency-key", "KEY", "a retry with the same key creates nothing twice"}})),
      Verb("list", "list tokens, newest first",
           {{"owner", "OWNER", "only this owner's"},
            {"status", "active|expired|revoked", "only tokens in this status"},
            {"limit", "N", "at most N"},
            {"cursor", "CURSOR", "the page after a previous list's next cursor"}}),
      Verb("show", "show one token (never its secret)",
           {{"as-of", "POSITION|TIME", "as it was at a log position or time"}}, {kIdArg}),
      Verb("update", "change a token's settings",
           with_settings({{"no-expiry", "", "never expires"},
                          {"no-refill", "", "no refill"},
                          {"if-match", "VERSION", "only if the token is still at VERSION"}}),
           {kIdArg}),
      Verb("regenerate", "a new secret for a token; the old one may keep working a while",
           {{"grace-period-s", "N", "the old secret stays valid N seconds"}}, {kIdArg}),
      Verb("revoke", "revoke a token for good", {{"reason", "TEXT", "why, for the history"}},
           {kIdArg}),
      Verb("credits", "set or add to a token's credits (exactly one of --set, --add)",
           {{"set", "N", "the balance becomes N"}, {"add", "N", "N is added (negative: taken)"}},
           {kIdArg}),
      Verb("verify", "verify a secret as a service would; the exit status tells the outcome",
           {{"secret-file", "PATH",
             "read the secret under test from PATH, or standard input when PATH is -"},
            {"permissions", "QUERY", "a permission query such as \"x:read OR y:write\""},
            {"cost", "N", "credits this use costs"},
            {"origin", "ORIGIN", "the request's origin"},
            {"ip", "IP", "the request's address"}},
           {{"SECRET",
             "the secret under test; - reads its first line from standard input (or use "
             "--secret-file: an argument shows in the process list)"}},
           VerifyExitCodeTable()),
      Verb("events", "a token's history",
           {{"after", "VERSION", "only events after this version"}, {"limit", "N", "at most N"}},
           {kIdArg}),
      Verb("usage", "usage counters of one token, or of all tokens",
           {{"owner", "OWNER", "only this owner's tokens"},
            {"from", "TIME", "from TIME"},
            {"to", "TIME", "to TIME"},
            {"bucket", "hour|day", "the bucket size"}},
           {{"ID", "the token's id (all tokens when not given)"}}),
  };
}

int64_t IntFlag(const CliArgs& a, const std::string& name) {
  std::string v = *a.Get(name);
  bool negative = !v.empty() && v[0] == '-';
  auto n = ParseUint(negative ? v.substr(1) : v);
  if (!n) throw Usage{"--" + name + " must be an integer"};
  return negative ? -static_cast<int64_t>(*n) : static_cast<int64_t>(*n);
}

// Fills the token configuration fields shared by create and update.
void ConfigFields(const CliArgs& a, Json& body, bool update) {
  for (const char* f :
       {"name", "description", "owner", "preset", "prefix", "expires-in", "expires-at"}) {
    if (auto v = a.Get(f)) {
      std::string key = f;
      std::replace(key.begin(), key.end(), '-', '_');
      body[key] = *v;
    }
  }
  if (a.Has("permission")) body["permissions"] = a.GetAll("permission");
  if (a.Has("origin")) body["allowed_origins"] = a.GetAll("origin");
  if (a.Has("ip")) body["allowed_ips"] = a.GetAll("ip");
  if (a.Has("no-expiry")) body["expires_at"] = nullptr;
  if (a.Has("rate-limit")) {
    body["rate_limit"] = {
        {"limit", IntFlag(a, "rate-limit")},
        {"window_ms", a.Has("rate-window-ms") ? IntFlag(a, "rate-window-ms") : 60000}};
  }
  Json refill = nullptr;
  if (a.Has("refill-amount")) {
    refill = {{"amount", IntFlag(a, "refill-amount")},
              {"interval", a.Get("refill-interval", "day")}};
  }
  if (update) {
    if (a.Has("refill-amount")) body["refill"] = refill;
    if (a.Has("no-refill")) body["refill"] = nullptr;
  } else if (a.Has("credits") || a.Has("refill-amount")) {
    Json credits{{"refill", refill}};
    if (a.Has("credits")) credits["remaining"] = IntFlag(a, "credits");
    body["credits"] = credits;
  }
  if (auto m = a.Get("meta")) {
    Json parsed = Json::parse(*m, nullptr, false);
    if (parsed.is_discarded()) throw Usage{"--meta must be a JSON object"};
    body["meta"] = parsed;
  }
}

std::string Query(const CliArgs& a, const std::vector<std::string>& names) {
  std::string q;
  for (const std::string& n : names) {
    if (auto v = a.Get(n)) {
      std::string key = n;
      std::replace(key.begin(), key.end(), '-', '_');
      q += (q.empty() ? "?" : "&") + key + "=" + httplib::detail::encode_query_param(*v);
    }
  }
  return q;
}

// The secret under test of `token verify`: the SECRET argument ("-": the
// first line of standard input) or --secret-file.
std::string VerifiedSecret(const CliArgs& a, bool stdin_taken) {
  const bool from_arg = !a.positional().empty();
  if (from_arg == a.Has("secret-file")) {
    throw Usage{from_arg ? "give the secret as SECRET or --secret-file, not both"
                         : "token verify needs the secret: SECRET, - (standard input) or "
                           "--secret-file PATH"};
  }
  const bool wants_stdin = from_arg ? a.positional()[0] == "-" : *a.Get("secret-file") == "-";
  if (wants_stdin && stdin_taken) {
    throw Usage{"the bearer (--token-file -) and the secret cannot both come from standard input"};
  }
  if (from_arg) {
    std::string secret = a.positional()[0];
    if (secret == "-") std::getline(std::cin, secret);
    return secret;
  }
  auto secret = ReadSecretFile(*a.Get("secret-file"), "secret-file");
  if (!secret.ok()) throw Usage{secret.error().message};
  return std::move(secret).value();
}

ClientRequest BuildRequest(const std::string& verb, const CliArgs& a, bool stdin_taken) {
  auto arg = [&]() -> std::string {
    if (a.positional().empty()) throw Usage{"token " + verb + " needs an argument"};
    return a.positional()[0];
  };
  ClientRequest r;
  Json body = nullptr;
  if (verb == "create") {
    r.method = "POST";
    r.path = "/v1/tokens";
    body = Json::object();
    ConfigFields(a, body, /*update=*/false);
    if (auto k = a.Get("idempotency-key")) r.headers.emplace("Idempotency-Key", *k);
  } else if (verb == "list") {
    r.path = "/v1/tokens" + Query(a, {"owner", "status", "limit", "cursor"});
  } else if (verb == "show") {
    r.path = "/v1/tokens/" + arg() + Query(a, {"as-of"});
  } else if (verb == "update") {
    r.method = "PATCH";
    r.path = "/v1/tokens/" + arg();
    body = Json::object();
    ConfigFields(a, body, /*update=*/true);
    if (auto v = a.Get("if-match")) r.headers.emplace("If-Match", *v);
  } else if (verb == "regenerate") {
    r.method = "POST";
    r.path = "/v1/tokens/" + arg() + "/regenerate";
    body = Json::object();
    if (a.Has("grace-period-s")) body["grace_period_s"] = IntFlag(a, "grace-period-s");
  } else if (verb == "revoke") {
    r.method = "POST";
    r.path = "/v1/tokens/" + arg() + "/revoke";
    body = Json{{"reason", a.Get("reason", "")}};
  } else if (verb == "credits") {
    r.method = "POST";
    r.path = "/v1/tokens/" + arg() + "/credits";
    if (a.Has("set") == a.Has("add"))
      throw Usage{"token credits needs exactly one of --set or --add"};
    body = a.Has("set") ? Json{{"set", IntFlag(a, "set")}} : Json{{"add", IntFlag(a, "add")}};
  } else if (verb == "verify") {
    r.method = "POST";
    r.path = "/v1/verify";
    body = Json{{"token", VerifiedSecret(a, stdin_taken)}};
    if (auto p = a.Get("permissions")) body["permissions"] = *p;
    if (a.Has("cost")) body["cost"] = IntFlag(a, "cost");
    if (auto o = a.Get("origin")) body["origin"] = *o;
    if (auto ip = a.Get("ip")) body["ip"] = *ip;
  } else if (verb == "events") {
    r.path = "/v1/tokens/" + arg() + "/events" + Query(a, {"after", "limit"});
  } else if (verb == "usage") {
    std::string base = a.positional().empty() ? "/v1/usage" : "/v1/tokens/" + arg() + "/usage";
    r.path = base + Query(a, {"owner", "from", "to", "bucket"});
  } else {
    throw Usage{"unknown verb " + verb};
  }
  if (!body.is_null()) r.body = body.dump();
  return r;
}

}  // namespace

const CommandSpec& TokenGroupSpec() {
  static const CommandSpec spec{
      .name = "token",
      .about = "manage and verify tokens through a running server's HTTP API",
      .flags = ClientFlags(),
      .footer =
          "The client flags may come before or after the verb. Exit status: 0 ok, 1 the "
          "server refused\n(its message on stderr), 2 usage, 3 no answer; `token verify "
          "--help` lists its own.",
  };
  return spec;
}

const std::vector<CommandSpec>& TokenVerbSpecs() {
  static const std::vector<CommandSpec> specs = MakeVerbSpecs();
  return specs;
}

int RunTokenVerb(const std::string& verb, const CliArgs& a) {
  bool stdin_taken = false;
  auto target = ApiTargetFrom(a, stdin_taken);
  if (!target.ok()) {
    std::cerr << "token " << verb << ": " << target.error().message << "\n";
    return kExitUsage;
  }
  ClientRequest request;
  try {
    request = BuildRequest(verb, a, stdin_taken);
  } catch (const Usage& u) {
    std::cerr << "token " << verb << ": " << u.message << "\n"
              << "run `tokenledger token " << verb << " --help` for its flags\n";
    return kExitUsage;
  }
  auto reply = Send(*target, request);
  if (!reply.ok()) {
    std::cerr << "token: " << reply.error().message << "\n";
    return kExitUnreachable;
  }
  Json body = Json::parse(reply->body, nullptr, false);
  if (reply->status >= 400) {
    std::string detail =
        body.is_object() ? JsonText(body.value("detail", Json(reply->body))) : reply->body;
    std::string field = body.is_object() && body.contains("field")
                            ? " (field " + JsonText(body["field"]) + ")"
                            : "";
    std::cerr << "token " << verb << ": " << reply->status << " " << detail << field << "\n";
    return kExitRefused;
  }
  if (body.is_discarded()) {
    std::cerr << "token: the server answered something that is not JSON\n";
    return kExitRefused;
  }
  if (a.Has("json")) {
    std::cout << body.dump(2) << std::endl;
  } else {
    PrintAnswer(std::cout, verb, body);
  }
  if (verb == "verify") {
    if (!body.contains("code") || !body["code"].is_string()) {
      std::cerr << "token verify: the answer has no verification code\n";
      return kExitRefused;
    }
    return VerifyExitCode(body["code"].get<std::string>());
  }
  return kExitOk;
}

}  // namespace tl
