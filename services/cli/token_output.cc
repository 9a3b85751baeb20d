#include "services/cli/token_output.h"

#include <utility>
#include <vector>

#include "services/cli/cli_output.h"

namespace tl {
namespace {

void PrintToken(std::ostream& out, const Json& t) {
  std::vector<std::pair<std::string, std::string>> kv;
  if (t.contains("token")) {
    kv.emplace_back(
        "secret", JsonText(t["token"]) + "\n(shown once: store it now, it cannot be shown again)");
  }
  for (const char* k : {"id", "name", "description", "owner", "status", "permissions", "created_at",
                        "updated_at", "last_used_at", "expires_at", "credits", "rate_limit",
                        "allowed_origins", "allowed_ips", "hint", "meta", "version"}) {
    kv.emplace_back(k, JsonText(t.value(k, Json())));
  }
  PrintKeyValues(out, kv);
}

}  // namespace

void PrintAnswer(std::ostream& out, const std::string& verb, const Json& body) {
  if (verb == "list") {
    std::vector<std::vector<std::string>> rows;
    for (const Json& t : body["tokens"]) {
      std::string credits =
          t["credits"].is_null() ? "unlimited" : JsonText(t["credits"]["remaining"]);
      rows.push_back({JsonText(t["id"]), JsonText(t["name"]), JsonText(t["owner"]),
                      JsonText(t["status"]), JsonText(t["permissions"]), JsonText(t["expires_at"]),
                      credits});
    }
    PrintTable(out, {"ID", "NAME", "OWNER", "STATUS", "PERMISSIONS", "EXPIRES", "CREDITS"}, rows);
    if (!body["next_cursor"].is_null())
      out << "next cursor: " << JsonText(body["next_cursor"]) << "\n";
  } else if (verb == "events") {
    std::vector<std::vector<std::string>> rows;
    for (const Json& e : body["events"]) {
      rows.push_back({JsonText(e["position"]), JsonText(e["version"]), JsonText(e["time"]),
                      JsonText(e["type"]), JsonText(e["actor"]), e["data"].dump()});
    }
    PrintTable(out, {"POSITION", "VERSION", "TIME", "TYPE", "ACTOR", "DATA"}, rows);
  } else if (verb == "usage") {
    const Json& t = body["total"];
    out << "total: uses " << JsonText(t["uses"]) << ", credits spent "
        << JsonText(t["credits_spent"]) << ", denied " << JsonText(t["denied"]) << "\n";
    std::vector<std::vector<std::string>> rows;
    for (const Json& b : body["buckets"]) {
      rows.push_back({JsonText(b["start"]), JsonText(b["uses"]), JsonText(b["credits_spent"]),
                      JsonText(b["denied"])});
    }
    PrintTable(out, {"START", "USES", "CREDITS", "DENIED"}, rows);
  } else if (verb == "verify") {
    out << JsonText(body["code"]);
    if (body.contains("token_id")) {
      out << "  token " << JsonText(body["token_id"]) << " (" << JsonText(body["name"]) << ")"
          << "  remaining " << JsonText(body["remaining"]);
    }
    out << "\n";
  } else {
    PrintToken(out, body);
  }
}

std::string JsonText(const Json& j) {
  if (j.is_null()) return "-";
  if (j.is_string()) return j.get<std::string>();
  return j.dump();
}

}  // namespace tl
