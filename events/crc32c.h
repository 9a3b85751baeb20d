#pragma once

#include <cstdint>
#include <string_view>

namespace tl {

// CRC-32C (Castagnoli), as used by iSCSI, ext4 and LevelDB. Uses the SSE4.2
// instruction when the CPU has it, a table otherwise; both give the same value.
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);

}  // namespace tl
