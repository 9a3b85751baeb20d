// snapshot_reader: the snapshot loader (projections/snapshot.h) on a file
// made of the fuzzer's bytes. Nothing crashes; a format-2 file is loaded only
// when its trailer's checksum and count are right (re-checked here on the
// bytes); what loads writes out and loads back to the same state.
//
// Input: one mode byte, then the file. Mode bit 0 set: the checksum is
// recomputed before the file is written (format 2: the trailer's count and
// SHA-256; format 1: the header's sha256 of the state), so that mutations
// reach the token line reader and Projection::FromJson instead of stopping
// at the checksum.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/crypto.h"
#include "events/file_util.h"
#include "projections/snapshot.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_temp_dir.h"

namespace {

using tl::Json;

constexpr std::string_view kTrailerStart = "{\"count\":";

const std::string& Dir() {
  static const std::string& dir = tl::fuzz::TempDir("snapshot");
  return dir;
}
const std::string& RewriteDir() {
  static const std::string& dir = tl::fuzz::TempDir("snapshot-rewrite");
  return dir;
}

// A format-2 file's parts, as the format says (snapshot.h): the lines before
// the first trailer-looking line after the header, that line, and the rest.
struct Parts {
  bool found = false;
  std::string_view before, trailer, after;
  uint64_t token_lines = 0;
};

Parts Split(std::string_view file) {
  Parts parts;
  size_t pos = file.find('\n');
  if (pos == std::string_view::npos) return parts;
  ++pos;  // past the header
  while (pos < file.size()) {
    const size_t nl = file.find('\n', pos);
    if (nl == std::string_view::npos) return parts;
    if (file.substr(pos, kTrailerStart.size()) == kTrailerStart) {
      parts.found = true;
      parts.before = file.substr(0, pos);
      parts.trailer = file.substr(pos, nl - pos);
      parts.after = file.substr(nl + 1);
      return parts;
    }
    ++parts.token_lines;
    pos = nl + 1;
  }
  return parts;
}

constexpr std::string_view kFormat1Start = "{\"format\":1,";
constexpr std::string_view kStateKey = ",\"state\":";
constexpr std::string_view kShaKey = "\"sha256\":\"";

// Format 1's state: the bytes after the first ,"state": up to the final '}'.
std::optional<std::string_view> Format1State(std::string_view file) {
  const size_t at = file.find(kStateKey);
  if (at == std::string_view::npos || file.empty() || file.back() != '}') return std::nullopt;
  return file.substr(at + kStateKey.size(), file.size() - 1 - at - kStateKey.size());
}

// Format 1 with the header's sha256 recomputed (when it has 64 chars of one).
std::string FixFormat1(std::string file) {
  const auto state = Format1State(file);
  const size_t sha = file.find(kShaKey);
  if (!state || sha == std::string::npos || sha + kShaKey.size() + 64 > file.size()) return file;
  const std::string digest = tl::Sha256Hex(*state);
  return file.replace(sha + kShaKey.size(), 64, digest);
}

std::string FixTrailer(std::string file) {
  if (file.starts_with(kFormat1Start)) return FixFormat1(std::move(file));
  const Parts parts = Split(file);
  if (!parts.found) return file;
  const std::string trailer =
      Json{{"count", parts.token_lines}, {"sha256", tl::Sha256Hex(parts.before)}}.dump();
  return std::string(parts.before) + trailer + "\n" + std::string(parts.after);
}

uint64_t HeaderPosition(std::string_view file) {
  const Json header = Json::parse(file.substr(0, file.find('\n')), nullptr, false);
  if (header.is_object()) {
    auto p = header.find("position");
    if (p != header.end() && p->is_number_unsigned()) return p->get<uint64_t>();
  }
  return 1;
}

std::string FileName(uint64_t position) {
  char name[64];
  std::snprintf(name, sizeof name, "snapshot-%020llu.json",
                static_cast<unsigned long long>(position));
  return name;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string file(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) file = FixTrailer(std::move(file));

  const std::string& dir = Dir();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const uint64_t position = HeaderPosition(file);
  FUZZ_CHECK(tl::WriteFileAtomically(dir + "/" + FileName(position), file).ok(), "write");

  bool warned = false;
  std::string last_hash;
  auto loaded = tl::LoadNewestSnapshot(
      dir, [&](std::string_view) { warned = true; }, &last_hash);
  FUZZ_CHECK(loaded.ok(), "LoadNewestSnapshot failed instead of warning: %s",
             loaded.error().message.c_str());
  if (warned) {
    FUZZ_CHECK(loaded->last_position().value() == 0 && loaded->token_count() == 0,
               "a refused snapshot left state behind");
    return 0;
  }
  FUZZ_CHECK(loaded->last_position().value() == position, "loaded position %llu, file %llu",
             static_cast<unsigned long long>(loaded->last_position().value()),
             static_cast<unsigned long long>(position));

  if (file.starts_with(kFormat1Start)) {
    // Format 1: loaded only when the header's sha256 is the state's.
    const auto state = Format1State(file);
    FUZZ_CHECK(state.has_value(), "loaded a format-1 snapshot without a state");
    const Json header = Json::parse(file.substr(0, file.find(kStateKey)) + "}", nullptr,
                                    /*allow_exceptions=*/false);
    FUZZ_CHECK(header.is_object() && header.contains("sha256") &&
                   header["sha256"] == tl::Sha256Hex(*state),
               "loaded a format-1 snapshot whose checksum is wrong");
  } else {
    // Format 2 (anything not starting as format 1 does): loaded only with the
    // right trailer.
    const Parts parts = Split(file);
    FUZZ_CHECK(parts.found, "loaded a snapshot without a trailer");
    FUZZ_CHECK(parts.after.empty(), "loaded a snapshot with bytes after its trailer");
    const Json trailer = Json::parse(parts.trailer, nullptr, false);
    FUZZ_CHECK(trailer.is_object() && trailer.size() == 2 && trailer.contains("sha256") &&
                   trailer["sha256"] == tl::Sha256Hex(parts.before),
               "loaded a snapshot whose checksum is wrong");
    FUZZ_CHECK(trailer.contains("count") && trailer["count"] == parts.token_lines &&
                   loaded->token_count() == parts.token_lines,
               "loaded a snapshot whose token count is wrong");
  }

  // What loads writes out and loads back the same.
  const std::string& rewrite = RewriteDir();
  std::filesystem::remove_all(rewrite);
  FUZZ_CHECK(tl::WriteSnapshot(rewrite, *loaded, last_hash).ok(), "WriteSnapshot");
  bool rewarned = false;
  std::string rehash;
  auto again = tl::LoadNewestSnapshot(
      rewrite, [&](std::string_view) { rewarned = true; }, &rehash);
  FUZZ_CHECK(again.ok() && !rewarned, "a snapshot written from a loaded one does not load");
  FUZZ_CHECK(again->Digest() == loaded->Digest() && rehash == last_hash &&
                 again->last_position() == loaded->last_position(),
             "a snapshot written from a loaded one loads differently");
  return 0;
}
