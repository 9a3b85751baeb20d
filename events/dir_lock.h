#pragma once

#include <memory>
#include <optional>
#include <string>

#include "events/result.h"

namespace tl {

// The exclusive lock on a data directory: `<dir>/LOCK`, held with
// flock(LOCK_EX) for the holder's lifetime, with the holder's pid written in
// it. Every process that writes to the directory (serve, restore) holds it,
// so two writers never share a log; the kernel drops it when the holder
// exits, however it exits, so a stale file never blocks a start.
class DirLock {
 public:
  // Creates `dir` (private mode) if needed and takes the lock without
  // waiting. kUnavailable naming the holder's pid when another process has it.
  static Result<std::unique_ptr<DirLock>> Acquire(const std::string& dir);

  // For readers that leave the directory as it is: the pid of the process
  // holding the lock on `dir`, nullopt when none does (or there is no LOCK
  // file). Creates nothing.
  static std::optional<long> Holder(const std::string& dir);

  ~DirLock();  // releases the lock (the file stays)
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace tl
