#pragma once

#include <cstdint>
#include <string_view>

namespace tl {

// Kafka's murmur2 hash of a message key, as the Java client and librdkafka's
// "murmur2" partitioners compute it.
uint32_t KafkaMurmur2(std::string_view key);

// The partition of `key` among `partitions` (> 0): murmur2 made positive,
// modulo the count. A token's events all go to the partition of its id, so
// any node finds the owner of a token from its id alone.
int32_t PartitionOf(std::string_view key, int32_t partitions);

}  // namespace tl
