#pragma once

// Helpers shared by the log's tests: temporary directories and simple appends.

#include <filesystem>
#include <random>
#include <string>

#include "events/log.h"

namespace tl::testing {

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = (std::filesystem::temp_directory_path() /
             ("tl-test-" + std::to_string(rd()) + std::to_string(rd())))
                .string();
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline AppendRequest UseRequest(const std::string& token, int64_t time_ms, int cost = 1) {
  AppendRequest r;
  r.token_id = token;
  r.time_ms = time_ms;
  r.actor = "system";
  r.events.emplace_back(
      EventType::kUsed,
      Json{{"cost", cost}, {"permissions", nullptr}, {"origin", nullptr}, {"ip", nullptr}});
  return r;
}

}  // namespace tl::testing
