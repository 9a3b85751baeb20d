#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace tl {

// Source of random bytes: returns exactly `n` bytes. Production passes
// RandomBytes (events/crypto.h); tests pass a deterministic fake.
using RandomBytesFn = std::function<std::string(size_t n)>;

// Secrets we mint look like `<prefix>_<body><check>`:
//   prefix  [a-z0-9]{1,8}, says which system a leaked secret belongs to;
//   body    43 base62 chars: 32 random bytes (256 bits), fixed width;
//   check   6 base62 chars: CRC-32 (IEEE) of `<prefix>_<body>`, fixed width.
// The checksum lets scanners and our own front end reject typos and random
// strings without a digest lookup.
inline constexpr size_t kSecretBodyChars = 43;
inline constexpr size_t kSecretCheckChars = 6;
inline constexpr std::string_view kDefaultSecretPrefix = "tl";

// True when `prefix` matches [a-z0-9]{1,8}.
bool IsValidSecretPrefix(std::string_view prefix);

// A new secret. REQUIRES: IsValidSecretPrefix(prefix) and random_bytes(32)
// returns 32 bytes (anything else is a bug and aborts the process).
std::string GenerateSecret(std::string_view prefix, const RandomBytesFn& random_bytes);

// True when `s` has the shape of a secret minted by GenerateSecret and its
// checksum is right. This is only a fast pre-filter: operators may configure a
// bootstrap secret of any form (>= kMinSecretChars non-whitespace chars), which must still
// verify, so a verifier must look up SecretDigest() whenever this returns false
// rather than rejecting. Use it to skip work, never to decide validity.
bool LooksLikeSecret(std::string_view s);

// What RedactSecrets puts where a secret was, and EchoOrRedact in place of
// client text it does not repeat.
inline constexpr std::string_view kRedactedSecret = "[redacted]";

// Every secret the ledger accepts is at least this long: minted ones have 52
// or more characters, and an operator's bootstrap secret must have 32.
inline constexpr size_t kMinSecretChars = 32;
// Client text no longer than this cannot be a whole secret of any form.
inline constexpr size_t kMaxEchoChars = kMinSecretChars - 1;

// Whether client text (a request id, a path segment, a JSON key, a word of a
// query) may be repeated in an answer or a log line: 1 to kMaxEchoChars
// characters, each of A-Z a-z 0-9 . _ - or of `also`. Such text is no secret
// whatever form the operator chose for one, so no digest lookup is needed;
// anything else is never repeated.
bool IsSafeToEcho(std::string_view text, std::string_view also = {});
// `text` when IsSafeToEcho(text, also), else kRedactedSecret.
std::string_view EchoOrRedact(std::string_view text, std::string_view also = {});

// True when `text` contains a secret minted by GenerateSecret (the format
// above with a valid checksum) anywhere, even glued to other characters, as
// secret scanners find them. Operator-chosen bootstrap secrets of another
// form are not recognised.
bool ContainsSecret(std::string_view text);

// `text` with every secret ContainsSecret finds replaced by kRedactedSecret.
// For whatever echoes client input into a response or a log line.
std::string RedactSecrets(std::string_view text);

// What the ledger stores instead of the secret: SHA-256 hex.
std::string SecretDigest(std::string_view secret);

// Display hint shown in listings: "<prefix>_…<last 4 chars>" (e.g. "tl_…x9Qa").
// When the secret has no valid "<prefix>_" (an operator's bootstrap secret),
// the hint is "…<last 4 chars>". Reveals 4 of >= 32 characters.
std::string SecretHint(std::string_view secret);

// A new token id: "tok_" + 22 base62 chars (16 random bytes, fixed width).
// REQUIRES: random_bytes(16) returns 16 bytes.
std::string NewTokenId(const RandomBytesFn& random_bytes);
// True when `s` is "tok_" followed by exactly 22 base62 chars.
bool IsTokenId(std::string_view s);

// CRC-32 with the zlib/IEEE 802.3 polynomial (reflected 0xEDB88320), as used
// by the secret checksum. Exposed for tests.
uint32_t Crc32Ieee(std::string_view data);

}  // namespace tl
