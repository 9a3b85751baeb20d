#include "projections/snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include "events/crypto.h"

namespace tl {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "snapshot-";
constexpr std::string_view kSuffix = ".json";
constexpr size_t kPositionDigits = 20;
constexpr std::string_view kStateKey = ",\"state\":";

std::string FileName(Position p) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "snapshot-%020llu.json",
                static_cast<unsigned long long>(p.value()));
  return buf;
}

// Position encoded in a snapshot file name, or nullopt for any other file.
std::optional<uint64_t> ParseFileName(const std::string& name) {
  if (name.size() != kPrefix.size() + kPositionDigits + kSuffix.size() ||
      name.compare(0, kPrefix.size(), kPrefix) != 0 ||
      name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
    return std::nullopt;
  }
  uint64_t v = 0;
  for (size_t i = kPrefix.size(); i < kPrefix.size() + kPositionDigits; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return v;
}

Error IoError(const std::string& what, const std::string& path, int err) {
  return MakeError(ErrorCode::kIo, what + " " + path + ": " + std::strerror(err));
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Ok{};
}

Status FsyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return IoError("open", path, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return IoError("fsync", path, err);
  return Ok{};
}

// Snapshot files in `dir`, newest first.
std::vector<std::pair<uint64_t, fs::path>> ListSnapshots(const std::string& dir,
                                                         std::error_code& ec) {
  std::vector<std::pair<uint64_t, fs::path>> out;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (auto pos = ParseFileName(it->path().filename().string()))
      out.emplace_back(*pos, it->path());
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  return out;
}

// Reads and verifies one snapshot file; the error message says what is wrong.
Result<Projection> ReadSnapshot(const fs::path& path, uint64_t name_position) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kIo, "cannot open");
  std::stringstream buf;
  buf << in.rdbuf();
  if (!in.good() && !in.eof()) return MakeError(ErrorCode::kIo, "read failed");
  const std::string content = buf.str();

  // The checksum covers the exact bytes of the state, so it is verified
  // before anything is parsed.
  const size_t state_at = content.find(kStateKey);
  if (state_at == std::string::npos || content.empty() || content.back() != '}') {
    return MakeError(ErrorCode::kCorruption, "not a snapshot document");
  }
  const std::string_view body = std::string_view(content).substr(
      state_at + kStateKey.size(), content.size() - 1 - state_at - kStateKey.size());
  Json header = Json::parse(content.substr(0, state_at) + "}", nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) {
    return MakeError(ErrorCode::kCorruption, "unreadable header");
  }
  auto format = header.find("format");
  auto position = header.find("position");
  auto sha = header.find("sha256");
  if (format == header.end() || *format != 1) {
    return MakeError(ErrorCode::kCorruption, "unknown format");
  }
  if (position == header.end() || !position->is_number_unsigned() ||
      position->get<uint64_t>() != name_position) {
    return MakeError(ErrorCode::kCorruption, "position does not match the file name");
  }
  if (sha == header.end() || !sha->is_string() || sha->get<std::string>() != Sha256Hex(body)) {
    return MakeError(ErrorCode::kCorruption, "checksum mismatch");
  }
  Json state = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (state.is_discarded()) return MakeError(ErrorCode::kCorruption, "state is not JSON");
  Result<Projection> p = Projection::FromJson(state);
  if (!p.ok()) return p;
  if (p->last_position().value() != name_position) {
    return MakeError(ErrorCode::kCorruption, "state position does not match the file name");
  }
  return p;
}

}  // namespace

Status WriteSnapshot(const std::string& dir, const Projection& p) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return MakeError(ErrorCode::kIo, "create " + dir + ": " + ec.message());

  const std::string body = p.ToJson().dump();
  std::string doc = "{\"format\":1,\"position\":" + std::to_string(p.last_position().value()) +
                    ",\"sha256\":\"" + Sha256Hex(body) + "\"";
  doc += kStateKey;
  doc += body;
  doc += '}';

  const std::string final_path = (fs::path(dir) / FileName(p.last_position())).string();
  const std::string tmp_path = final_path + ".tmp";
  int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return IoError("open", tmp_path, errno);
  Status written = WriteAll(fd, doc, tmp_path);
  if (written.ok() && ::fsync(fd) != 0) written = IoError("fsync", tmp_path, errno);
  ::close(fd);
  if (!written.ok()) {
    ::unlink(tmp_path.c_str());
    return written;
  }
  if (::rename(tmp_path.c_str(), final_path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_path.c_str());
    return IoError("rename", tmp_path, err);
  }
  // The rename is durable only once the directory entry is.
  if (Status s = FsyncPath(dir, O_RDONLY | O_DIRECTORY); !s.ok()) return s;

  auto snapshots = ListSnapshots(dir, ec);
  if (ec) return MakeError(ErrorCode::kIo, "list " + dir + ": " + ec.message());
  for (size_t i = 2; i < snapshots.size(); ++i) {
    fs::remove(snapshots[i].second, ec);
    if (ec)
      return MakeError(ErrorCode::kIo,
                       "remove " + snapshots[i].second.string() + ": " + ec.message());
  }
  return Ok{};
}

Result<Projection> LoadNewestSnapshot(const std::string& dir,
                                      const std::function<void(std::string_view)>& warn) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return Projection{};
  auto snapshots = ListSnapshots(dir, ec);
  if (ec) return MakeError(ErrorCode::kIo, "list " + dir + ": " + ec.message());
  for (const auto& [position, path] : snapshots) {
    Result<Projection> p = ReadSnapshot(path, position);
    if (p.ok()) return p;
    warn("snapshot " + path.string() + " skipped: " + p.error().message);
  }
  if (!snapshots.empty()) {
    warn("no valid snapshot in " + dir + " (" + std::to_string(snapshots.size()) +
         " files); starting from an empty state");
  }
  return Projection{};
}

}  // namespace tl
