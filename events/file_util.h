#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "events/result.h"

namespace tl {

Result<std::string> ReadWholeFile(const std::string& path);
// The same into `out`, reusing its buffer: a scan over many segments then
// faults in fresh pages once, not once per segment.
Status ReadWholeFileInto(const std::string& path, std::string& out);
// Shrinks `path` to `size` bytes and makes that durable.
Status TruncateFile(const std::string& path, uint64_t size);
// fsyncs a directory so that creations, renames and removals in it are durable.
Status SyncDirectory(const std::string& dir);
// Writes `path` so that readers see the old or the new content, never a mix,
// and the new content is durable on return: tmp file, fsync, rename, fsync dir.
Status WriteFileAtomically(const std::string& path, std::string_view content);
// write()/pread() until done; false on an error (errno set).
bool WriteAll(int fd, std::string_view bytes);
// pwrite of all of `bytes` at `offset`, retrying short writes and EINTR.
bool WriteAllAt(int fd, uint64_t offset, std::string_view bytes);
bool ReadAt(int fd, uint64_t offset, char* out, size_t len);

// Mode of every file the ledger writes (segments, snapshots, checkpoints,
// marks, the lock) and of every folder it makes: the owner's alone, whatever
// the umask (the data holds secret digests and the whole history).
inline constexpr unsigned kPrivateFileMode = 0600;
inline constexpr unsigned kPrivateDirMode = 0700;

// Creates `dir` and any missing parent with kPrivateDirMode, and sets `dir`
// itself to that mode (an existing one too: it is the ledger's own).
Status MakePrivateDir(const std::string& dir);

}  // namespace tl
