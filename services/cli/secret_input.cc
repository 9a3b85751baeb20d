#include "services/cli/secret_input.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tl {

Result<std::string> ReadSecretFile(const std::string& path, const std::string& flag) {
  const bool from_stdin = path == "-";
  const std::string source = from_stdin ? "standard input" : path;
  auto unreadable = [&](int err) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--" + flag + ": cannot read " + source + ": " + std::strerror(err), flag);
  };
  const int fd = from_stdin ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return unreadable(errno);
  std::string text;
  char buffer[4096];
  int err = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    if (n <= 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  if (!from_stdin) ::close(fd);
  if (err != 0) return unreadable(err);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (text.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "--" + flag + ": " + source + " is empty", flag);
  }
  return text;
}

}  // namespace tl
