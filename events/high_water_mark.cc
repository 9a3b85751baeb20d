#include "events/high_water_mark.h"

#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "events/file_util.h"

namespace tl {

std::string HighWaterMarkPath(const std::string& data_dir) {
  return data_dir + "/acknowledged.json";
}

Result<std::optional<HighWaterMark>> ReadHighWaterMark(const std::string& data_dir) {
  const std::string path = HighWaterMarkPath(data_dir);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<HighWaterMark>();
  Result<std::string> text = ReadWholeFile(path);
  if (!text.ok()) return text.error();
  const nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("position") || !j["position"].is_number_unsigned() ||
      !j.contains("hash") || !j["hash"].is_string() || j["hash"].get<std::string>().size() != 64) {
    return MakeError(ErrorCode::kCorruption,
                     path + " is not a high-water mark ({\"hash\":H,\"position\":P})");
  }
  return std::optional<HighWaterMark>(
      HighWaterMark{Position(j["position"].get<uint64_t>()), j["hash"].get<std::string>()});
}

Status WriteHighWaterMark(const std::string& data_dir, const HighWaterMark& mark) {
  const nlohmann::json j{{"hash", mark.hash}, {"position", mark.position.value()}};
  return WriteFileAtomically(HighWaterMarkPath(data_dir), j.dump() + "\n");
}

}  // namespace tl
