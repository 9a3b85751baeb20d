#pragma once

// Scratch directories of the fuzz targets that write files.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_check.h"

namespace tl::fuzz {

// A fresh directory under /dev/shm (or the temp dir), removed at exit. The
// path is never destroyed: the exit handler runs after static destructors.
inline const std::string& TempDir(const char* name) {
  const char* shm = "/dev/shm";
  const std::string base =
      access(shm, W_OK) == 0 ? shm : std::filesystem::temp_directory_path().string();
  auto* path = new std::string(base + "/tl-fuzz-" + name + "-XXXXXX");
  FUZZ_CHECK(mkdtemp(path->data()) != nullptr, "mkdtemp");
  static std::vector<const std::string*>* made = [] {
    auto* v = new std::vector<const std::string*>;
    std::atexit([] {
      for (const std::string* p : *made) std::filesystem::remove_all(*p);
    });
    return v;
  }();
  made->push_back(path);
  return *path;
}

}  // namespace tl::fuzz
