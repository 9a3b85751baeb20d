#pragma once

#include <string>
#include <utility>
#include <variant>

namespace tl {

// Expected failures, mapped to HTTP statuses in one place (services/http/http_common.cc).
enum class ErrorCode {
  kInvalidArgument,     // bad input; `field` names the culprit
  kUnauthenticated,     // no or unusable credentials
  kForbidden,           // credentials lack a permission
  kNotFound,            // absent, or invisible to the caller
  kConflict,            // version conflict, revoked token, idempotency key reuse
  kPreconditionFailed,  // If-Match mismatch
  kCorruption,          // the log or a snapshot is damaged
  kIo,                  // the operating system refused
  kUnavailable,         // a dependency is down; try again
  kStorageUnavailable,  // the log cannot be written (disk full, I/O error); try again
};

struct Error {
  ErrorCode code;
  std::string message;  // for people; never contains a secret
  std::string field;    // the input field at fault, if any
  // A problem type more specific than the code's (a slug such as
  // "grant-not-held", documented in schemas/openapi.yaml); empty: the code's.
  std::string type;
};

// A value or an Error. Never holds neither.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;

inline Error MakeError(ErrorCode code, std::string message, std::string field = {}) {
  return Error{code, std::move(message), std::move(field), {}};
}

// An Error whose problem type is `type` rather than the code's.
inline Error MakeTypedError(ErrorCode code, std::string type, std::string message,
                            std::string field = {}) {
  return Error{code, std::move(message), std::move(field), std::move(type)};
}

}  // namespace tl
