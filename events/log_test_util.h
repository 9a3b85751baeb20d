#pragma once

// Helpers shared by the log's tests: temporary directories, simple appends,
// and tampering with a log on disk.

#include <filesystem>
#include <functional>
#include <random>
#include <string>

#include "events/file_util.h"
#include "events/log.h"
#include "events/log_format.h"
#include "events/log_scan.h"

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

// Changes the data of the event at `position` in the log in `dir` with
// `edit` and writes the record back with fresh CRCs, as a forger would: only
// the hash chain can tell. REQUIRES: the record keeps its size, and the log
// is not open.
inline bool AlterEventData(const std::string& dir, Position position,
                           const std::function<void(Json&)>& edit) {
  std::string segment;
  uint64_t offset = 0;
  auto scanned = ScanLog(dir, {}, [&](const ScannedRecord& r) {
    if (r.event.position != position) return true;
    offset = r.offset;
    return false;
  });
  if (!scanned.ok() || scanned->last != position) return false;
  for (const auto& [first, path] : scanned->segments) {
    if (first <= position) segment = path;
  }
  std::string bytes = ReadWholeFile(segment).value();
  logfmt::RecordHeader header;
  if (logfmt::DecodeRecordHeader(std::string_view(bytes).substr(offset), &header) !=
      logfmt::HeaderStatus::kOk) {
    return false;
  }
  const uint32_t len = header.length;
  Event e;
  if (!logfmt::DecodePayload(
          std::string_view(bytes).substr(offset + logfmt::kRecordHeaderSize, len), true, e,
          nullptr)) {
    return false;
  }
  edit(e.data);
  std::string record;
  if (!logfmt::AppendRecord(e, "", record) || record.size() != logfmt::kRecordHeaderSize + len) {
    return false;
  }
  bytes.replace(offset, record.size(), record);
  return WriteFileAtomically(segment, bytes).ok();
}

}  // namespace tl::testing
