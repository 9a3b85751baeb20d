#include "events/cluster_log.h"

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "events/cluster_membership.h"
#include "events/kafka_reader.h"
#include "events/partition_log.h"
#include "events/thread_annotations.h"

namespace tl {
namespace {

// The partition count of `topic`, from a short-lived client.
Result<int> CountPartitions(const ClusterLogOptions& o) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", o.brokers.c_str(), errstr, sizeof errstr) !=
      RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return MakeError(ErrorCode::kInvalidArgument, errstr);
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return MakeError(ErrorCode::kUnavailable, std::string("kafka: ") + errstr);
  }
  Result<int> count = TopicPartitionCount(rk, o.brokers, o.topic, kMetadataTimeout);
  rd_kafka_destroy(rk);
  return count;
}

}  // namespace

class ClusterLog::Impl {
 public:
  Impl(ClusterLogOptions o, CountedFn on_counted, OwnershipFn on_ownership)
      : opts_(std::move(o)),
        on_counted_(std::move(on_counted)),
        on_ownership_(std::move(on_ownership)) {}

  ~Impl() {
    membership_.reset();  // hands every owned partition over (Revoked)
    {
      MutexLock lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    if (claimer_.joinable()) claimer_.join();
    logs_.clear();
  }

  Status Start() {
    Result<int> count = CountPartitions(opts_);
    if (!count.ok()) return count.error();
    for (int32_t p = 0; p < *count; ++p) {
      PartitionLogOptions po;
      po.brokers = opts_.brokers;
      po.topic = opts_.topic;
      po.partition = p;
      po.node_id = opts_.node_id;
      po.properties = opts_.properties;
      po.claim_timeout = opts_.claim_timeout;
      auto log = PartitionLog::Open(po, [this, p](const Event& e) {
        if (on_counted_) on_counted_(p, e);
      });
      if (!log.ok()) return log.error();
      logs_.push_back(std::move(log.value()));
    }
    claimer_ = std::thread([this] { ClaimLoop(); });
    MembershipOptions mo;
    mo.brokers = opts_.brokers;
    mo.topic = opts_.topic;
    mo.group = opts_.group;
    mo.node_id = opts_.node_id;
    mo.session_timeout = opts_.session_timeout;
    mo.properties = opts_.properties;
    auto membership = ClusterMembership::Join(
        mo, [this](const std::vector<int32_t>& ps) { Assigned(ps); },
        [this](const std::vector<int32_t>& ps, bool lost) { Revoked(ps, lost); });
    if (!membership.ok()) return membership.error();
    membership_ = std::move(membership.value());
    return Status(Ok{});
  }

  int32_t partitions() const { return static_cast<int32_t>(logs_.size()); }

  bool Owns(int32_t p) const { return Valid(p) && logs_[p]->owns(); }

  void Append(int32_t p, Event e, DoneFn done) {
    if (!Valid(p)) {
      done(MakeError(ErrorCode::kInvalidArgument, "no partition " + std::to_string(p)));
      return;
    }
    logs_[p]->Append(std::move(e), std::move(done));
  }

  std::vector<PartitionState> State() const {
    std::vector<PartitionState> out;
    for (int32_t p = 0; p < partitions(); ++p) {
      const PartitionLog& log = *logs_[p];
      out.push_back({p, log.owns(), log.epoch(), log.owner(), log.counted_position()});
    }
    return out;
  }

 private:
  bool Valid(int32_t p) const { return p >= 0 && p < partitions(); }

  void Assigned(const std::vector<int32_t>& ps) {
    {
      MutexLock lock(mu_);
      for (int32_t p : ps) {
        if (!Valid(p)) continue;
        assigned_.insert(p);
        to_claim_.push_back(p);
      }
    }
    wake_.notify_all();
  }

  void Revoked(const std::vector<int32_t>& ps, bool lost) {
    for (int32_t p : ps) {
      if (!Valid(p)) continue;
      {
        MutexLock lock(mu_);
        assigned_.erase(p);
      }
      // Orderly: writes already taken settle before the next owner claims.
      // Lost: the next owner's claim fences whatever is still in flight.
      logs_[p]->Release(lost ? std::chrono::milliseconds(0) : opts_.claim_timeout);
      if (on_ownership_) on_ownership_(p, false);
    }
  }

  // Claims assigned partitions one at a time, off the group's thread, and
  // tries again while a partition stays assigned and a claim fails.
  void ClaimLoop() {
    for (;;) {
      int32_t p;
      {
        UniqueLock lock(mu_);
        while (!stop_ && to_claim_.empty()) wake_.wait(lock.native());
        if (stop_) return;
        p = to_claim_.front();
        to_claim_.pop_front();
        if (!assigned_.count(p) || logs_[p]->owns()) continue;
      }
      Status st = logs_[p]->Claim();
      bool still_assigned;
      {
        MutexLock lock(mu_);
        still_assigned = assigned_.count(p) > 0;
        if (!st.ok() && still_assigned) to_claim_.push_back(p);
      }
      if (st.ok() && !still_assigned) {
        logs_[p]->Release(std::chrono::milliseconds(0));
      } else if (st.ok() && on_ownership_) {
        on_ownership_(p, true);
      } else if (!st.ok()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }

  const ClusterLogOptions opts_;
  const CountedFn on_counted_;
  const OwnershipFn on_ownership_;
  std::vector<std::unique_ptr<PartitionLog>> logs_;  // by partition; fixed after Start
  std::unique_ptr<ClusterMembership> membership_;
  std::thread claimer_;
  Mutex mu_;
  std::condition_variable wake_;  // waits use mu_.native()
  std::set<int32_t> assigned_ TL_GUARDED_BY(mu_);
  std::deque<int32_t> to_claim_ TL_GUARDED_BY(mu_);
  bool stop_ TL_GUARDED_BY(mu_) = false;
};

Result<std::unique_ptr<ClusterLog>> ClusterLog::Open(ClusterLogOptions options,
                                                     CountedFn on_counted,
                                                     OwnershipFn on_ownership) {
  if (options.brokers.empty() || options.topic.empty() || options.node_id.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a cluster log needs brokers, a topic and a node id");
  }
  auto impl =
      std::make_unique<Impl>(std::move(options), std::move(on_counted), std::move(on_ownership));
  Status st = impl->Start();
  if (!st.ok()) return st.error();
  return std::unique_ptr<ClusterLog>(new ClusterLog(std::move(impl)));
}

ClusterLog::ClusterLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClusterLog::~ClusterLog() = default;

int32_t ClusterLog::partitions() const { return impl_->partitions(); }
bool ClusterLog::Owns(int32_t partition) const { return impl_->Owns(partition); }
void ClusterLog::Append(int32_t partition, Event e, DoneFn done) {
  impl_->Append(partition, std::move(e), std::move(done));
}
Status ClusterLog::AppendAndWait(int32_t partition, Event e) {
  return AwaitDone([&](DoneFn done) { Append(partition, std::move(e), std::move(done)); });
}
std::vector<ClusterLog::PartitionState> ClusterLog::State() const { return impl_->State(); }

}  // namespace tl
