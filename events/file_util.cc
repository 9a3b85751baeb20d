#include "events/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace tl {
namespace {

Error IoError(const std::string& what, const std::string& path) {
  return MakeError(ErrorCode::kIo, what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Result<std::string> ReadWholeFile(const std::string& path) {
  std::string out;
  Status read = ReadWholeFileInto(path, out);
  if (!read.ok()) return read.error();
  return out;
}

Status ReadWholeFileInto(const std::string& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open", path);
  off_t size = ::lseek(fd, 0, SEEK_END);
  if (size < 0) {
    ::close(fd);
    return IoError("cannot size", path);
  }
  out.resize(static_cast<size_t>(size));
  bool ok = ReadAt(fd, 0, out.data(), out.size());
  ::close(fd);
  if (!ok) return IoError("cannot read", path);
  return Ok{};
}

Status TruncateFile(const std::string& path, uint64_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open", path);
  bool ok = ::ftruncate(fd, static_cast<off_t>(size)) == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return IoError("cannot truncate", path);
  return Ok{};
}

Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open directory", dir);
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return IoError("cannot fsync directory", dir);
  return Ok{};
}

Status WriteFileAtomically(const std::string& path, std::string_view content) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, kPrivateFileMode);
  if (fd < 0) return IoError("cannot create", tmp);
  bool ok = WriteAll(fd, content) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = IoError("cannot write", path);
    ::unlink(tmp.c_str());
    return e;
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  return SyncDirectory(dir.empty() ? "." : dir);
}

bool WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool WriteAllAt(int fd, uint64_t offset, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

bool ReadAt(int fd, uint64_t offset, char* out, size_t len) {
  while (len > 0) {
    ssize_t n = ::pread(fd, out, len, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {
      errno = EIO;  // unexpected end of file
      return false;
    }
    out += n;
    len -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

Status MakePrivateDir(const std::string& dir) {
  // Each missing level is made with the private mode (create_directories
  // would use 0777 less the umask).
  std::filesystem::path path(dir);
  std::string so_far;
  for (const auto& part : path) {
    so_far = so_far.empty() ? part.string() : (std::filesystem::path(so_far) / part).string();
    if (part == "/" || part.empty()) continue;
    if (::mkdir(so_far.c_str(), kPrivateDirMode) != 0 && errno != EEXIST) {
      return IoError("cannot create directory", so_far);
    }
  }
  if (::chmod(dir.c_str(), kPrivateDirMode) != 0) return IoError("cannot set the mode of", dir);
  return Ok{};
}

}  // namespace tl
