#include "events/cluster_membership.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <set>
#include <thread>

#include "events/thread_annotations.h"

namespace tl {

class ClusterMembership::Impl {
 public:
  Impl(MembershipOptions o, AssignedFn on_assigned, RevokedFn on_revoked)
      : opts_(std::move(o)),
        on_assigned_(std::move(on_assigned)),
        on_revoked_(std::move(on_revoked)) {}

  ~Impl() {
    stop_.store(true);
    if (poller_.joinable()) poller_.join();
    if (rk_ != nullptr) {
      // Leaves the group; the rebalance callback runs here for what is held.
      rd_kafka_consumer_close(rk_);
      rd_kafka_destroy(rk_);
    }
  }

  Status Start() {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char errstr[512];
    std::string error;
    auto set = [&](const std::string& k, const std::string& v) {
      if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) !=
          RD_KAFKA_CONF_OK) {
        error = "kafka property " + k + ": " + errstr;
        return false;
      }
      return true;
    };
    const std::string session = std::to_string(opts_.session_timeout.count());
    const std::string heartbeat =
        std::to_string(std::max<int64_t>(100, opts_.session_timeout.count() / 5));
    bool ok = set("bootstrap.servers", opts_.brokers) && set("group.id", opts_.group) &&
              set("client.id", opts_.node_id) && set("log_level", "3") &&
              set("session.timeout.ms", session) && set("heartbeat.interval.ms", heartbeat);
    for (const auto& [k, v] : opts_.properties) ok = ok && set(k, v);
    // The assignment protocol and offsets are not the operator's to change:
    // partitions move one by one, and the member never commits offsets.
    ok = ok && set("partition.assignment.strategy", "cooperative-sticky") &&
         set("enable.auto.commit", "false") && set("enable.auto.offset.store", "false");
    if (!ok) {
      rd_kafka_conf_destroy(conf);
      return MakeError(ErrorCode::kInvalidArgument, error);
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_rebalance_cb(conf, &Impl::OnRebalance);
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (rk_ == nullptr) {
      rd_kafka_conf_destroy(conf);
      return MakeError(ErrorCode::kUnavailable, std::string("kafka consumer: ") + errstr);
    }
    rd_kafka_poll_set_consumer(rk_);
    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, opts_.topic.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return MakeError(ErrorCode::kUnavailable,
                       std::string("kafka subscribe: ") + rd_kafka_err2str(err));
    }
    poller_ = std::thread([this] {
      while (!stop_.load()) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100);
        if (m != nullptr) rd_kafka_message_destroy(m);  // paused: only errors arrive
      }
    });
    return Status(Ok{});
  }

  std::vector<int32_t> assigned() const {
    MutexLock lock(mu_);
    return {assigned_.begin(), assigned_.end()};
  }
  uint64_t rebalances() const {
    MutexLock lock(mu_);
    return rebalances_;
  }

 private:
  static std::vector<int32_t> Partitions(const rd_kafka_topic_partition_list_t* list) {
    std::vector<int32_t> out;
    for (int i = 0; i < list->cnt; ++i) out.push_back(list->elems[i].partition);
    std::sort(out.begin(), out.end());
    return out;
  }

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    std::vector<int32_t> changed = Partitions(partitions);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      if (cooperative) {
        rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, partitions);
        if (e != nullptr) rd_kafka_error_destroy(e);
      } else {
        rd_kafka_assign(rk, partitions);
      }
      // The member only tracks ownership; the partition logs read the data.
      rd_kafka_pause_partitions(rk, partitions);
      {
        MutexLock lock(self->mu_);
        self->assigned_.insert(changed.begin(), changed.end());
        ++self->rebalances_;
      }
      if (!changed.empty() && self->on_assigned_) self->on_assigned_(changed);
    } else {
      const bool lost = rd_kafka_assignment_lost(rk) != 0;
      {
        MutexLock lock(self->mu_);
        for (int32_t p : changed) self->assigned_.erase(p);
        ++self->rebalances_;
      }
      // Serving stops before the partitions are given up.
      if (!changed.empty() && self->on_revoked_) self->on_revoked_(changed, lost);
      if (cooperative) {
        rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, partitions);
        if (e != nullptr) rd_kafka_error_destroy(e);
      } else {
        rd_kafka_assign(rk, nullptr);
      }
    }
  }

  const MembershipOptions opts_;
  const AssignedFn on_assigned_;
  const RevokedFn on_revoked_;
  rd_kafka_t* rk_ = nullptr;
  std::thread poller_;
  std::atomic<bool> stop_{false};
  mutable Mutex mu_;
  std::set<int32_t> assigned_ TL_GUARDED_BY(mu_);
  uint64_t rebalances_ TL_GUARDED_BY(mu_) = 0;
};

Result<std::unique_ptr<ClusterMembership>> ClusterMembership::Join(MembershipOptions options,
                                                                   AssignedFn on_assigned,
                                                                   RevokedFn on_revoked) {
  if (options.brokers.empty() || options.topic.empty() || options.node_id.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "cluster membership needs brokers, a topic and a node id");
  }
  auto impl =
      std::make_unique<Impl>(std::move(options), std::move(on_assigned), std::move(on_revoked));
  Status st = impl->Start();
  if (!st.ok()) return st.error();
  return std::unique_ptr<ClusterMembership>(new ClusterMembership(std::move(impl)));
}

ClusterMembership::ClusterMembership(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClusterMembership::~ClusterMembership() = default;

std::vector<int32_t> ClusterMembership::assigned() const { return impl_->assigned(); }
uint64_t ClusterMembership::rebalances() const { return impl_->rebalances(); }

}  // namespace tl
