// verify_body: the hot path's ReadVerifyBody against the general path
// (ParseJsonBody + ParseVerify). Whenever the fast reader takes a body, the
// general path must take it too and read an equal command; and
// ReadVerifyRequest (what the servers call) must answer what the general
// path answers.

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "services/domain/commands.h"
#include "services/http/http_common.h"
#include "services/http/verify_body.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

std::string Describe(const tl::Error& e) { return e.field + ": " + e.message; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // libFuzzer's buffer holds exactly `size` bytes: a read past the end is a
  // heap overflow under AddressSanitizer.
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const tl::Result<tl::Json> json = tl::ParseJsonBody(text);
  std::optional<tl::Result<tl::VerifyCommand>> general;
  if (json.ok()) general = tl::ParseVerify(*json);

  const std::optional<tl::VerifyCommand> fast = tl::ReadVerifyBody(text);
  if (fast) {
    FUZZ_CHECK(json.ok(), "fast reader took a body ParseJsonBody refuses (%s)",
               Describe(json.error()).c_str());
    FUZZ_CHECK(general->ok(), "fast reader took a body ParseVerify refuses (%s)",
               Describe(general->error()).c_str());
    const tl::VerifyCommand& g = general->value();
    FUZZ_CHECK(fast->token == g.token, "token differs");
    FUZZ_CHECK(fast->permissions == g.permissions, "permissions differ");
    FUZZ_CHECK(fast->permissions_asked == g.permissions_asked,
               "permissions_asked differs: %s vs %s", fast->permissions_asked.dump().c_str(),
               g.permissions_asked.dump().c_str());
    FUZZ_CHECK(fast->cost == g.cost, "cost differs: %lld vs %lld",
               static_cast<long long>(fast->cost), static_cast<long long>(g.cost));
    FUZZ_CHECK(fast->origin == g.origin, "origin differs");
    FUZZ_CHECK(fast->ip == g.ip, "ip differs");
  }

  // The servers' entry point: the shortcut or the general path, same answer.
  const tl::VerifyBody body = tl::ReadVerifyRequest(text);
  FUZZ_CHECK(body.json.ok() == json.ok(), "ReadVerifyRequest's JSON verdict differs");
  if (json.ok()) {
    FUZZ_CHECK(body.command.ok() == general->ok(), "ReadVerifyRequest's command verdict differs");
    if (body.command.ok()) {
      FUZZ_CHECK(body.command->token == general->value().token &&
                     body.command->cost == general->value().cost &&
                     body.command->permissions == general->value().permissions &&
                     body.command->origin == general->value().origin &&
                     body.command->ip == general->value().ip,
                 "ReadVerifyRequest's command differs");
    } else {
      FUZZ_CHECK(body.command.error().field == general->error().field,
                 "ReadVerifyRequest's error field differs: %s vs %s",
                 body.command.error().field.c_str(), general->error().field.c_str());
    }
  }
  return 0;
}
