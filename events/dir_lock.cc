#include "events/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "events/file_util.h"

namespace tl {
namespace {

std::string LockPath(const std::string& dir) { return dir + "/LOCK"; }

// The pid written in the lock file, if it reads as one.
std::optional<long> ReadPid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return std::nullopt;
  char* end = nullptr;
  const long pid = std::strtol(buf, &end, 10);
  if (end == buf || pid <= 0) return std::nullopt;
  return pid;
}

std::string HolderText(std::optional<long> pid) {
  return pid ? "process " + std::to_string(*pid) : std::string("another process");
}

}  // namespace

Result<std::unique_ptr<DirLock>> DirLock::Acquire(const std::string& dir) {
  if (Status made = MakePrivateDir(dir); !made.ok()) return made.error();
  const std::string path = LockPath(dir);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kPrivateFileMode);
  if (fd < 0) {
    return MakeError(ErrorCode::kIo, "cannot open " + path + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const std::optional<long> pid = ReadPid(fd);
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return MakeError(ErrorCode::kUnavailable, "the data directory " + dir + " is in use by " +
                                                    HolderText(pid) + " (it holds " + path +
                                                    "); one process at a time may write to it");
    }
    return MakeError(ErrorCode::kIo, "cannot lock " + path + ": " + std::strerror(err));
  }
  std::unique_ptr<DirLock> lock(new DirLock(fd));
  // The pid is for people (and the refusal above); the flock is the lock.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || !WriteAllAt(fd, 0, pid) || ::fchmod(fd, kPrivateFileMode) != 0) {
    return MakeError(ErrorCode::kIo, "cannot write " + path + ": " + std::strerror(errno));
  }
  return lock;
}

std::optional<long> DirLock::Holder(const std::string& dir) {
  const int fd = ::open(LockPath(dir).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<long> holder;
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
    holder = ReadPid(fd).value_or(0);
  } else {
    ::flock(fd, LOCK_UN);
  }
  ::close(fd);
  return holder;
}

DirLock::~DirLock() { ::close(fd_); }

}  // namespace tl
