#include "services/cli/token_cli.h"

#include <httplib.h>

#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "events/event.h"
#include "services/cli/cli_args.h"

namespace tl {
namespace {

constexpr const char* kUsage =
    R"(usage: tokenledger token <verb> [flags]   (--addr URL, --token SECRET, --json)
  create --name N [--description D] [--owner O] [--preset read-only|full-access | --permission P ...]
         [--expires-in 30d | --expires-at TIME] [--credits N] [--refill-amount N --refill-interval day|month]
         [--rate-limit N --rate-window-ms MS] [--origin O ...] [--ip CIDR ...] [--prefix P] [--meta JSON]
         [--idempotency-key K]
  list [--owner O] [--status active|expired|revoked] [--limit N] [--cursor C]
  show ID [--as-of POSITION|TIME]
  update ID [--name N] [--description D] [--permission P ...] [--expires-in 30d | --expires-at TIME | --no-expiry]
         [--refill-amount N --refill-interval day|month | --no-refill] [--rate-limit N --rate-window-ms MS]
         [--origin O ...] [--ip CIDR ...] [--meta JSON] [--if-match VERSION]
  regenerate ID [--grace-period-s N]
  revoke ID [--reason R]
  credits ID (--set N | --add N)
  verify SECRET [--permissions QUERY] [--cost N] [--origin O] [--ip IP]     (SECRET "-" reads stdin)
  events ID [--after VERSION] [--limit N]
  usage [ID] [--owner O] [--from TIME] [--to TIME] [--bucket hour|day]
)";

const std::vector<std::string> kValueFlags = {"addr",
                                              "token",
                                              "name",
                                              "description",
                                              "owner",
                                              "preset",
                                              "permission",
                                              "expires-in",
                                              "expires-at",
                                              "credits",
                                              "refill-amount",
                                              "refill-interval",
                                              "rate-limit",
                                              "rate-window-ms",
                                              "origin",
                                              "ip",
                                              "prefix",
                                              "meta",
                                              "idempotency-key",
                                              "status",
                                              "limit",
                                              "cursor",
                                              "as-of",
                                              "if-match",
                                              "grace-period-s",
                                              "reason",
                                              "set",
                                              "add",
                                              "permissions",
                                              "cost",
                                              "after",
                                              "from",
                                              "to",
                                              "bucket"};

struct Usage {
  std::string message;
};

std::string Str(const Json& j) {
  if (j.is_null()) return "-";
  if (j.is_string()) return j.get<std::string>();
  return j.dump();
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
  if (auto meta = a.Get("meta")) {
    Json m = Json::parse(*meta, nullptr, false);
    if (m.is_discarded()) throw Usage{"--meta must be a JSON object"};
    body["meta"] = m;
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

void PrintToken(const Json& t) {
  if (t.contains("token")) {
    std::cout << "secret:      " << Str(t["token"]) << "\n"
              << "             (shown once: store it now, it cannot be shown again)\n";
  }
  for (const char* k : {"id", "name", "description", "owner", "status", "permissions", "created_at",
                        "updated_at", "last_used_at", "expires_at", "credits", "rate_limit",
                        "allowed_origins", "allowed_ips", "hint", "meta", "version"}) {
    std::cout << std::left << std::setw(13) << (std::string(k) + ":") << Str(t.value(k, Json()))
              << "\n";
  }
}

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i)
      width[i] = std::max(width[i], std::min<size_t>(r[i].size(), 48));
  }
  auto line = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size(); ++i) {
      std::string cell = r[i].size() > 48 ? r[i].substr(0, 45) + "..." : r[i];
      std::cout << std::left << std::setw(static_cast<int>(width[i]) + 2) << cell;
    }
    std::cout << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

void PrintHuman(const std::string& verb, const Json& body) {
  if (verb == "list") {
    std::vector<std::vector<std::string>> rows;
    for (const Json& t : body["tokens"]) {
      std::string credits = t["credits"].is_null() ? "unlimited" : Str(t["credits"]["remaining"]);
      rows.push_back({Str(t["id"]), Str(t["name"]), Str(t["owner"]), Str(t["status"]),
                      Str(t["permissions"]), Str(t["expires_at"]), credits});
    }
    PrintTable({"ID", "NAME", "OWNER", "STATUS", "PERMISSIONS", "EXPIRES", "CREDITS"}, rows);
    if (!body["next_cursor"].is_null())
      std::cout << "next cursor: " << Str(body["next_cursor"]) << "\n";
  } else if (verb == "events") {
    std::vector<std::vector<std::string>> rows;
    for (const Json& e : body["events"]) {
      rows.push_back({Str(e["position"]), Str(e["version"]), Str(e["time"]), Str(e["type"]),
                      Str(e["actor"]), e["data"].dump()});
    }
    PrintTable({"POSITION", "VERSION", "TIME", "TYPE", "ACTOR", "DATA"}, rows);
  } else if (verb == "usage") {
    const Json& t = body["total"];
    std::cout << "total: uses " << Str(t["uses"]) << ", credits spent " << Str(t["credits_spent"])
              << ", denied " << Str(t["denied"]) << "\n";
    std::vector<std::vector<std::string>> rows;
    for (const Json& b : body["buckets"]) {
      rows.push_back({Str(b["start"]), Str(b["uses"]), Str(b["credits_spent"]), Str(b["denied"])});
    }
    PrintTable({"START", "USES", "CREDITS", "DENIED"}, rows);
  } else if (verb == "verify") {
    std::cout << Str(body["code"]);
    if (body.contains("token_id")) {
      std::cout << "  token " << Str(body["token_id"]) << " (" << Str(body["name"]) << ")"
                << "  remaining " << Str(body["remaining"]);
    }
    std::cout << "\n";
  } else {
    PrintToken(body);
  }
}

// A whole sentence for a failed exchange: httplib's names ("Connection",
// "Read") are cut short.
std::string ConnectionFailure(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection:
      return "connection refused or failed (is the server running at that address?)";
    case httplib::Error::ConnectionTimeout:
      return "timed out while connecting";
    case httplib::Error::Read:
      return "the connection failed while reading the answer";
    case httplib::Error::Write:
      return "the connection failed while sending the request";
    case httplib::Error::SSLConnection:
      return "the TLS connection failed";
    case httplib::Error::SSLServerVerification:
      return "the server's TLS certificate could not be verified";
    default:
      return "the request failed (" + httplib::to_string(e) + ")";
  }
}

}  // namespace

int RunTokenCli(const std::vector<std::string>& args) {
  CliArgs a(args, {.values = kValueFlags,
                   .switches = {"json", "no-expiry", "no-refill", "help"},
                   .repeatable = {"permission", "origin", "ip"},
                   .max_positional = 2});  // verb [ID|SECRET]
  if (!a.ok() || a.positional().empty() || a.Has("help")) {
    std::cerr << (a.ok() ? "" : a.error() + "\n") << kUsage;
    return a.Has("help") ? 0 : 2;
  }
  const std::string verb = a.positional()[0];
  auto arg = [&](size_t i) -> std::string {
    if (a.positional().size() <= i) throw Usage{"token " + verb + " needs an argument"};
    return a.positional()[i];
  };
  const char* env_addr = std::getenv("TOKENLEDGER_ADDR");
  const char* env_token = std::getenv("TOKENLEDGER_TOKEN");
  const std::string addr = a.Get("addr", env_addr ? env_addr : "http://127.0.0.1:8080");
  const std::string bearer = a.Get("token", env_token ? env_token : "");
  if (bearer.empty()) {
    std::cerr << "token: set TOKENLEDGER_TOKEN or pass --token\n";
    return 2;
  }

  std::string method = "GET", path;
  Json body = nullptr;
  httplib::Headers headers;
  try {
    // Every verb takes at most one argument; create and list take none.
    const size_t max_positional = verb == "create" || verb == "list" ? 1 : 2;
    if (std::string extra = a.ExtraPositionals(max_positional); !extra.empty()) {
      throw Usage{"token " + verb + ": " + extra};
    }
    if (verb == "create") {
      method = "POST";
      path = "/v1/tokens";
      body = Json::object();
      ConfigFields(a, body, /*update=*/false);
      if (auto k = a.Get("idempotency-key")) headers.emplace("Idempotency-Key", *k);
    } else if (verb == "list") {
      path = "/v1/tokens" + Query(a, {"owner", "status", "limit", "cursor"});
    } else if (verb == "show") {
      path = "/v1/tokens/" + arg(1) + Query(a, {"as-of"});
    } else if (verb == "update") {
      method = "PATCH";
      path = "/v1/tokens/" + arg(1);
      body = Json::object();
      ConfigFields(a, body, /*update=*/true);
      if (auto v = a.Get("if-match")) headers.emplace("If-Match", *v);
    } else if (verb == "regenerate") {
      method = "POST";
      path = "/v1/tokens/" + arg(1) + "/regenerate";
      body = Json::object();
      if (a.Has("grace-period-s")) body["grace_period_s"] = IntFlag(a, "grace-period-s");
    } else if (verb == "revoke") {
      method = "POST";
      path = "/v1/tokens/" + arg(1) + "/revoke";
      body = Json{{"reason", a.Get("reason", "")}};
    } else if (verb == "credits") {
      method = "POST";
      path = "/v1/tokens/" + arg(1) + "/credits";
      if (a.Has("set") == a.Has("add"))
        throw Usage{"token credits needs exactly one of --set or --add"};
      body = a.Has("set") ? Json{{"set", IntFlag(a, "set")}} : Json{{"add", IntFlag(a, "add")}};
    } else if (verb == "verify") {
      method = "POST";
      path = "/v1/verify";
      std::string secret = arg(1);
      if (secret == "-") std::getline(std::cin, secret);
      body = Json{{"token", secret}};
      if (auto p = a.Get("permissions")) body["permissions"] = *p;
      if (a.Has("cost")) body["cost"] = IntFlag(a, "cost");
      if (auto o = a.Get("origin")) body["origin"] = *o;
      if (auto ip = a.Get("ip")) body["ip"] = *ip;
    } else if (verb == "events") {
      path = "/v1/tokens/" + arg(1) + "/events" + Query(a, {"after", "limit"});
    } else if (verb == "usage") {
      std::string base =
          a.positional().size() > 1 ? "/v1/tokens/" + arg(1) + "/usage" : "/v1/usage";
      path = base + Query(a, {"owner", "from", "to", "bucket"});
    } else {
      throw Usage{"unknown verb " + verb};
    }
  } catch (const Usage& u) {
    std::cerr << "token: " << u.message << "\n" << kUsage;
    return 2;
  }

  httplib::Client client(addr);
  client.set_bearer_token_auth(bearer.c_str());
  client.set_connection_timeout(5);
  client.set_read_timeout(30);
  const std::string payload = body.is_null() ? "" : body.dump();
  httplib::Result res = method == "GET" ? client.Get(path.c_str(), headers)
                        : method == "PATCH"
                            ? client.Patch(path.c_str(), headers, payload, "application/json")
                            : client.Post(path.c_str(), headers, payload, "application/json");
  if (!res) {
    std::cerr << "token: cannot reach " << addr << ": " << ConnectionFailure(res.error()) << "\n";
    return 3;
  }
  Json reply = Json::parse(res->body, nullptr, false);
  if (res->status >= 400) {
    std::string detail =
        reply.is_object() ? Str(reply.value("detail", Json(res->body))) : res->body;
    std::string field =
        reply.is_object() && reply.contains("field") ? " (field " + Str(reply["field"]) + ")" : "";
    std::cerr << "token " << verb << ": " << res->status << " " << detail << field << "\n";
    return 1;
  }
  if (reply.is_discarded()) {
    std::cerr << "token: the server answered something that is not JSON\n";
    return 1;
  }
  if (a.Has("json")) {
    std::cout << reply.dump(2) << std::endl;
  } else {
    PrintHuman(verb, reply);
  }
  return 0;
}

}  // namespace tl
