#include "events/partitioning.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <random>
#include <string>

namespace tl {
namespace {

// librdkafka's own murmur2 partitioner is the reference: the relay's topic
// (keyed by token id) and a cluster topic must agree on every token's partition.
int32_t LibrdkafkaPartition(const std::string& key, int32_t partitions) {
  return rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), partitions, nullptr,
                                          nullptr);
}

TEST(PartitioningTest, AgreesWithLibrdkafkasMurmur2OnRandomKeys) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string key(rng() % 40, '\0');
    for (char& c : key) c = static_cast<char>(rng() % 256);
    const int32_t partitions = static_cast<int32_t>(1 + rng() % 64);
    ASSERT_EQ(PartitionOf(key, partitions), LibrdkafkaPartition(key, partitions))
        << "key of " << key.size() << " bytes, " << partitions << " partitions";
  }
}

TEST(PartitioningTest, TokenIdsSpreadOverTwelvePartitions) {
  std::mt19937_64 rng(11);
  const std::string base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::vector<int> count(12, 0);
  for (int i = 0; i < 12000; ++i) {
    std::string id = "tok_";
    for (int j = 0; j < 22; ++j) id += base62[rng() % 62];
    const int32_t p = PartitionOf(id, 12);
    ASSERT_GE(p, 0);
    ASSERT_LT(p, 12);
    ++count[p];
  }
  for (int c : count) EXPECT_NEAR(c, 1000, 150);
}

}  // namespace
}  // namespace tl
