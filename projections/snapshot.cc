#include "projections/snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <system_error>
#include <vector>

#include "events/crypto.h"
#include "events/file_util.h"
#include "projections/canonical_json.h"
#include "projections/token_line.h"

namespace tl {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "snapshot-";
constexpr std::string_view kSuffix = ".json";
constexpr size_t kPositionDigits = 20;
constexpr std::string_view kStateKey = ",\"state\":";
// What a format-1 file begins with; anything else is read as format 2.
constexpr std::string_view kFormat1Start = "{\"format\":1,";
// Token lines begin with {"state": and the trailer with this, so a line is
// told apart by its first bytes.
constexpr std::string_view kTrailerStart = "{\"count\":";
constexpr size_t kIoBufferBytes = 1 << 20;

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

// events/file_util's WriteAll, with the error this file reports.
Status WriteAll(int fd, std::string_view data, const std::string& path) {
  if (!::tl::WriteAll(fd, data)) return IoError("write", path, errno);
  return Ok{};
}

// Closes the descriptor it owns.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

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

// The "format" and "position" of either format's header (a parsed document,
// discarded when it was not JSON).
Status CheckHeader(const Json& header, int expected_format, uint64_t name_position) {
  if (header.is_discarded() || !header.is_object()) {
    return MakeError(ErrorCode::kCorruption, "unreadable header");
  }
  auto format = header.find("format");
  auto position = header.find("position");
  if (format == header.end() || *format != expected_format) {
    return MakeError(ErrorCode::kCorruption, "unknown format");
  }
  if (position == header.end() || !position->is_number_unsigned() ||
      position->get<uint64_t>() != name_position) {
    return MakeError(ErrorCode::kCorruption, "position does not match the file name");
  }
  return Ok{};
}

// ---- format 2, written and read as a stream (see snapshot.h)

// Where the CanonicalJsonWriter's bytes go: the running checksum and the
// file. After a failed write the rest is dropped and `status` says why.
struct SnapshotSink {
  int fd;
  const std::string* path;
  Sha256 sha;
  Status status = Ok{};

  static void Take(void* self, std::string_view bytes) {
    auto* sink = static_cast<SnapshotSink*>(self);
    if (!sink->status.ok()) return;
    sink->sha.Update(bytes);
    sink->status = WriteAll(sink->fd, bytes, *sink->path);
  }
};

// Writes format 2 of `p` to `fd`.
Status WriteSnapshotBody(int fd, const std::string& path, const Projection& p,
                         std::string_view last_hash) {
  SnapshotSink sink{fd, &path, {}};
  CanonicalJsonWriter out(kIoBufferBytes, &SnapshotSink::Take, &sink);
  out.Literal("{\"format\":2");
  if (!last_hash.empty()) {
    out.Literal(",\"hash\":");
    out.String(last_hash);
  }
  out.Literal(",\"position\":");
  out.Uint(p.last_position().value());
  out.Literal("}\n");
  p.WriteTokenLines(out);
  out.Flush();
  if (!sink.status.ok()) return sink.status;
  // The trailer is not part of what it checksums.
  std::string trailer = std::string(kTrailerStart) + std::to_string(p.token_count()) +
                        ",\"sha256\":\"" + sink.sha.HexDigest() + "\"}\n";
  return WriteAll(fd, trailer, path);
}

// The lines of a file, each with its '\n', through a buffer that grows only
// for a line longer than itself.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd), buffer_(kIoBufferBytes, '\0') {}

  // The next line including its '\n'; at the end of the file, what is left
  // (no '\n': a cut line) or an empty view. kIo when reading fails.
  Result<std::string_view> Next() {
    for (size_t searched = begin_;;) {
      const void* nl = std::memchr(buffer_.data() + searched, '\n', end_ - searched);
      if (nl != nullptr) {
        const size_t stop = static_cast<const char*>(nl) - buffer_.data() + 1;
        std::string_view line(buffer_.data() + begin_, stop - begin_);
        begin_ = stop;
        return line;
      }
      searched = end_;
      if (eof_) {
        std::string_view rest(buffer_.data() + begin_, end_ - begin_);
        begin_ = end_;
        return rest;
      }
      // Keep the partial line at the front and read more behind it.
      if (begin_ > 0) {
        std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
        searched -= begin_;
        end_ -= begin_;
        begin_ = 0;
      }
      if (end_ == buffer_.size()) buffer_.resize(2 * buffer_.size());
      ssize_t n = ::read(fd_, buffer_.data() + end_, buffer_.size() - end_);
      if (n < 0) {
        if (errno == EINTR) continue;
        return MakeError(ErrorCode::kIo, std::string("read failed: ") + std::strerror(errno));
      }
      if (n == 0) eof_ = true;
      end_ += static_cast<size_t>(n);
    }
  }

  // Peeks at up to `n` bytes at the start of the file. REQUIRES: nothing read yet.
  Result<std::string_view> Head(size_t n) {
    while (end_ < n && !eof_) {
      ssize_t got = ::read(fd_, buffer_.data() + end_, n - end_);
      if (got < 0) {
        if (errno == EINTR) continue;
        return MakeError(ErrorCode::kIo, std::string("read failed: ") + std::strerror(errno));
      }
      if (got == 0) eof_ = true;
      end_ += static_cast<size_t>(got);
    }
    return std::string_view(buffer_.data(), std::min(n, end_));
  }

 private:
  int fd_;
  std::string buffer_;
  size_t begin_ = 0;  // unread bytes are buffer_[begin_, end_)
  size_t end_ = 0;
  bool eof_ = false;
};

Json ParseLine(std::string_view line) {
  line.remove_suffix(1);  // the '\n'
  return Json::parse(line, nullptr, /*allow_exceptions=*/false);
}

bool IsHashHex(const Json& v) {
  unsigned char raw[32];
  return v.is_string() && v.get_ref<const std::string&>().size() == 64 &&
         FromLowerHex(v.get_ref<const std::string&>(), raw);
}

Result<Projection> ReadSnapshotV2(LineReader& in, uint64_t name_position, std::string* last_hash) {
  Result<std::string_view> line = in.Next();
  if (!line.ok()) return line.error();
  if (line->empty() || line->back() != '\n') return MakeError(ErrorCode::kCorruption, "no header");
  Sha256 sha;
  sha.Update(*line);
  const Json header = ParseLine(*line);
  if (Status s = CheckHeader(header, 2, name_position); !s.ok()) return s.error();
  // The hash of the event at `position` (written since it was added; older
  // snapshots have none).
  auto hash = header.find("hash");
  if (hash != header.end() && !IsHashHex(*hash)) {
    return MakeError(ErrorCode::kCorruption, "unreadable header");
  }
  if (header.size() != (hash == header.end() ? 2u : 3u)) {
    return MakeError(ErrorCode::kCorruption, "unreadable header");
  }
  *last_hash = hash == header.end() ? std::string() : hash->get<std::string>();

  // Tokens are built as they are read; a checksum mismatch at the end throws
  // them away. Reading the file twice (verify, then build) would cost the
  // I/O twice for nothing but an earlier, less specific error.
  Projection::Builder builder{Position(name_position)};
  TokenLineReader reader([&builder](std::string_view code) { return builder.CodeId(code); });
  TokenState state;
  UsageSeries usage;
  for (size_t number = 2;; ++number) {
    line = in.Next();
    if (!line.ok()) return line.error();
    if (line->empty()) return MakeError(ErrorCode::kCorruption, "no trailer");
    if (line->back() != '\n') {
      return MakeError(ErrorCode::kCorruption, "cut off in line " + std::to_string(number));
    }
    if (line->substr(0, kTrailerStart.size()) == kTrailerStart) break;
    sha.Update(*line);
    Status added = reader.Read(line->substr(0, line->size() - 1), state, usage);
    if (added.ok()) added = builder.Add(std::move(state), std::move(usage));
    if (!added.ok()) {
      return MakeError(ErrorCode::kCorruption,
                       "line " + std::to_string(number) + ": " + added.error().message);
    }
  }

  const Json trailer = ParseLine(*line);
  if (trailer.is_discarded() || !trailer.is_object() || trailer.size() != 2) {
    return MakeError(ErrorCode::kCorruption, "unreadable trailer");
  }
  auto count = trailer.find("count");
  auto checksum = trailer.find("sha256");
  if (checksum == trailer.end() || !checksum->is_string() ||
      checksum->get_ref<const std::string&>() != sha.HexDigest()) {
    return MakeError(ErrorCode::kCorruption, "checksum mismatch");
  }
  if (count == trailer.end() || !count->is_number_unsigned() ||
      count->get<uint64_t>() != builder.token_count()) {
    return MakeError(ErrorCode::kCorruption, "token count does not match the trailer");
  }
  line = in.Next();
  if (!line.ok()) return line.error();
  if (!line->empty()) return MakeError(ErrorCode::kCorruption, "data after the trailer");
  return std::move(builder).Finish();
}

// ---- format 1: one document, read whole (older data directories)

Result<Projection> ReadSnapshotV1(const fs::path& path, uint64_t name_position) {
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
  if (Status s = CheckHeader(header, 1, name_position); !s.ok()) return s.error();
  auto sha = header.find("sha256");
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

// Reads and verifies one snapshot file of either format; the error message
// says what is wrong.
Result<Projection> ReadSnapshot(const fs::path& path, uint64_t name_position,
                                std::string* last_hash) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0)
    return MakeError(ErrorCode::kIo, std::string("cannot open: ") + std::strerror(errno));
  LineReader in(fd.get());
  Result<std::string_view> head = in.Head(kFormat1Start.size());
  if (!head.ok()) return head.error();
  last_hash->clear();
  if (*head == kFormat1Start) return ReadSnapshotV1(path, name_position);
  return ReadSnapshotV2(in, name_position, last_hash);
}

}  // namespace

Status WriteSnapshot(const std::string& dir, const Projection& p, std::string_view last_hash) {
  if (Status made = MakePrivateDir(dir); !made.ok()) return made.error();

  const std::string final_path = (fs::path(dir) / FileName(p.last_position())).string();
  const std::string tmp_path = final_path + ".tmp";
  Status written = Ok{};
  {
    Fd fd(::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, kPrivateFileMode));
    if (fd.get() < 0) return IoError("open", tmp_path, errno);
    try {
      written = WriteSnapshotBody(fd.get(), tmp_path, p, last_hash);
    } catch (...) {  // a string that is not UTF-8 (Json::type_error), as dump() throws
      ::unlink(tmp_path.c_str());
      throw;
    }
    if (written.ok() && ::fsync(fd.get()) != 0) written = IoError("fsync", tmp_path, errno);
  }
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
  if (Status s = SyncDirectory(dir); !s.ok()) return s;

  std::error_code ec;
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
                                      const std::function<void(std::string_view)>& warn,
                                      std::string* last_hash) {
  std::string ignored;
  if (last_hash == nullptr) last_hash = &ignored;
  last_hash->clear();
  std::error_code ec;
  if (!fs::exists(dir, ec)) return Projection{};
  auto snapshots = ListSnapshots(dir, ec);
  if (ec) return MakeError(ErrorCode::kIo, "list " + dir + ": " + ec.message());
  for (const auto& [position, path] : snapshots) {
    Result<Projection> p = ReadSnapshot(path, position, last_hash);
    if (p.ok()) return p;
    last_hash->clear();
    warn("snapshot " + path.string() + " skipped: " + p.error().message);
  }
  if (!snapshots.empty()) {
    warn("no valid snapshot in " + dir + " (" + std::to_string(snapshots.size()) +
         " files); starting from an empty state");
  }
  return Projection{};
}

Position NewestSnapshotPosition(const std::string& dir) {
  std::error_code ec;
  auto snapshots = ListSnapshots(dir, ec);
  return snapshots.empty() ? Position(0) : Position(snapshots.front().first);
}

}  // namespace tl
