#pragma once

// Clang's thread-safety analysis (-Wthread-safety), as macros that vanish
// under other compilers. A member guarded by a mutex says so with
// TL_GUARDED_BY(mu_); a function that must be called with a lock held says
// TL_REQUIRES(mu_). The mutex type must be annotated too: use tl::Mutex and
// tl::MutexLock (below) instead of std::mutex / std::lock_guard where a
// member is guarded, so the analysis sees every acquire and release.

#include <condition_variable>
#include <mutex>
#include <shared_mutex>

#if defined(__clang__)
#define TL_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define TL_THREAD_ANNOTATION(x)
#endif

#define TL_CAPABILITY(x) TL_THREAD_ANNOTATION(capability(x))
#define TL_SCOPED_CAPABILITY TL_THREAD_ANNOTATION(scoped_lockable)
#define TL_GUARDED_BY(x) TL_THREAD_ANNOTATION(guarded_by(x))
#define TL_PT_GUARDED_BY(x) TL_THREAD_ANNOTATION(pt_guarded_by(x))
#define TL_ACQUIRED_BEFORE(...) TL_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define TL_ACQUIRED_AFTER(...) TL_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define TL_REQUIRES(...) TL_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define TL_REQUIRES_SHARED(...) TL_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define TL_ACQUIRE(...) TL_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define TL_ACQUIRE_SHARED(...) TL_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define TL_RELEASE(...) TL_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TL_RELEASE_SHARED(...) TL_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define TL_RELEASE_GENERIC(...) TL_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))
#define TL_TRY_ACQUIRE(...) TL_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define TL_EXCLUDES(...) TL_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define TL_RETURN_CAPABILITY(x) TL_THREAD_ANNOTATION(lock_returned(x))
#define TL_NO_THREAD_SAFETY_ANALYSIS TL_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace tl {

// std::mutex with the capability attribute. BasicLockable, so
// std::condition_variable_any and std::unique_lock work with it.
class TL_CAPABILITY("mutex") Mutex {
 public:
  void lock() TL_ACQUIRE() { mu_.lock(); }
  void unlock() TL_RELEASE() { mu_.unlock(); }
  bool try_lock() TL_TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // For std::condition_variable, which needs the std::mutex itself.
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

// std::shared_mutex with the capability attribute.
class TL_CAPABILITY("mutex") SharedMutex {
 public:
  void lock() TL_ACQUIRE() { mu_.lock(); }
  void unlock() TL_RELEASE() { mu_.unlock(); }
  void lock_shared() TL_ACQUIRE_SHARED() { mu_.lock_shared(); }
  void unlock_shared() TL_RELEASE_SHARED() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

// Scoped exclusive lock (std::lock_guard) the analysis understands.
template <typename M>
class TL_SCOPED_CAPABILITY LockGuard {
 public:
  explicit LockGuard(M& mu) TL_ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~LockGuard() TL_RELEASE() { mu_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  M& mu_;
};
using MutexLock = LockGuard<Mutex>;

// Scoped shared lock (std::shared_lock) the analysis understands.
class TL_SCOPED_CAPABILITY SharedLock {
 public:
  explicit SharedLock(SharedMutex& mu) TL_ACQUIRE_SHARED(mu) : mu_(mu) { mu_.lock_shared(); }
  ~SharedLock() TL_RELEASE() { mu_.unlock_shared(); }
  SharedLock(const SharedLock&) = delete;
  SharedLock& operator=(const SharedLock&) = delete;

 private:
  SharedMutex& mu_;
};

// A lock that can be released and taken again inside its scope, and waited
// on with a condition variable (std::unique_lock for the analysis). Wait in
// an explicit loop,
//   UniqueLock lock(mu_);
//   while (!ready_) cv_.wait(lock.native());
// rather than with a predicate: the analysis checks a lambda as a function of
// its own, which does not hold the lock.
class TL_SCOPED_CAPABILITY UniqueLock {
 public:
  explicit UniqueLock(Mutex& mu) TL_ACQUIRE(mu) : lock_(mu.native()) {}
  ~UniqueLock() TL_RELEASE() {}
  void Unlock() TL_RELEASE() { lock_.unlock(); }
  void Lock() TL_ACQUIRE() { lock_.lock(); }
  // For std::condition_variable::wait / wait_for / wait_until.
  std::unique_lock<std::mutex>& native() { return lock_; }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace tl
