#include "events/partition_log.h"

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "events/cluster_record.h"
#include "events/crypto.h"
#include "events/partition_fence.h"
#include "events/thread_annotations.h"

namespace tl {
namespace {

rd_kafka_conf_t* NewConf(const PartitionLogOptions& o,
                         const std::vector<std::pair<std::string, std::string>>& fixed,
                         bool forced_last, std::string* error) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  auto set = [&](const std::string& k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      *error = "kafka property " + k + ": " + errstr;
      return false;
    }
    return true;
  };
  bool ok = set("bootstrap.servers", o.brokers) && set("log_level", "3");
  if (!forced_last) {
    for (const auto& [k, v] : fixed) ok = ok && set(k, v);
  }
  for (const auto& [k, v] : o.properties) ok = ok && set(k, v);
  if (forced_last) {
    for (const auto& [k, v] : fixed) ok = ok && set(k, v);
  }
  if (!ok) {
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  return conf;
}

}  // namespace

class PartitionLog::Impl {
 public:
  Impl(PartitionLogOptions o, CountedFn on_counted)
      : opts_(std::move(o)), on_counted_(std::move(on_counted)) {}

  ~Impl() {
    stop_.store(true);
    if (reader_.joinable()) reader_.join();
    std::vector<DoneFn> orphans;
    {
      MutexLock lock(mu_);
      for (auto& [id, done] : pending_) orphans.push_back(std::move(done));
      pending_.clear();
    }
    for (auto& done : orphans) {
      done(MakeError(ErrorCode::kUnavailable,
                     "the partition log was closed before the event "
                     "was read back"));
    }
    if (consumer_ != nullptr) {
      rd_kafka_consumer_close(consumer_);
      rd_kafka_destroy(consumer_);
    }
    if (producer_ != nullptr) {
      rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_poll(producer_, 0);
      rd_kafka_destroy(producer_);
    }
  }

  Status Start() {
    std::string error;
    char errstr[512];
    rd_kafka_conf_t* pconf = NewConf(opts_,
                                     {{"acks", "all"},
                                      {"enable.idempotence", "true"},
                                      {"enable.gapless.guarantee", "true"},
                                      {"linger.ms", "1"}},
                                     /*forced_last=*/true, &error);
    if (pconf == nullptr) return MakeError(ErrorCode::kInvalidArgument, error);
    rd_kafka_conf_set_opaque(pconf, this);
    rd_kafka_conf_set_dr_msg_cb(pconf, &Impl::OnDelivery);
    producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, errstr, sizeof errstr);
    if (producer_ == nullptr) {
      rd_kafka_conf_destroy(pconf);
      return MakeError(ErrorCode::kUnavailable, std::string("kafka producer: ") + errstr);
    }
    rd_kafka_conf_t* cconf = NewConf(opts_,
                                     {{"group.id", "tokenledger-partition-reader"},
                                      {"enable.auto.commit", "false"},
                                      {"enable.auto.offset.store", "false"},
                                      {"fetch.wait.max.ms", "10"},
                                      {"fetch.error.backoff.ms", "5"}},
                                     /*forced_last=*/false, &error);
    if (cconf == nullptr) return MakeError(ErrorCode::kInvalidArgument, error);
    consumer_ = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, errstr, sizeof errstr);
    if (consumer_ == nullptr) {
      rd_kafka_conf_destroy(cconf);
      return MakeError(ErrorCode::kUnavailable, std::string("kafka consumer: ") + errstr);
    }
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, opts_.topic.c_str(), opts_.partition)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t err = rd_kafka_assign(consumer_, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return MakeError(ErrorCode::kUnavailable,
                       std::string("kafka assign: ") + rd_kafka_err2str(err));
    }
    reader_ = std::thread([this] { ReadLoop(); });
    return Status(Ok{});
  }

  Status Claim() {
    const auto deadline = std::chrono::steady_clock::now() + opts_.claim_timeout;
    // 1. Read to the partition's current end, so the claim's epoch is above
    // every claim written before it was decided.
    int64_t low = 0;
    int64_t high = 0;
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(producer_, opts_.topic.c_str(), opts_.partition, &low,
                                         &high, static_cast<int>(opts_.claim_timeout.count()));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return MakeError(ErrorCode::kUnavailable,
                       Where() + ": cannot read its end offset: " + rd_kafka_err2str(err));
    }
    UniqueLock lock(mu_);
    while (next_offset_ < high) {
      if (changed_.wait_until(lock.native(), deadline) == std::cv_status::timeout) {
        return MakeError(ErrorCode::kUnavailable,
                         Where() + ": timed out reading to offset " + std::to_string(high));
      }
    }
    // 2. Write the claim.
    const uint64_t epoch = fence_.epoch() + 1;
    claim_nonce_ = ToHex(RandomBytes(8));
    claim_result_.reset();
    err = ProduceClaim(producer_, opts_.topic, opts_.partition, epoch, opts_.node_id, claim_nonce_);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      claim_nonce_.clear();
      return MakeError(ErrorCode::kUnavailable,
                       Where() + ": cannot write a claim: " + rd_kafka_err2str(err));
    }
    // 3. Read until the claim comes back (or another claim wins).
    while (!claim_result_.has_value()) {
      if (changed_.wait_until(lock.native(), deadline) == std::cv_status::timeout) {
        claim_nonce_.clear();
        return MakeError(ErrorCode::kUnavailable, Where() + ": timed out reading back the claim");
      }
    }
    claim_nonce_.clear();
    return *claim_result_;
  }

  void Append(Event e, DoneFn done) {
    std::optional<Status> refused;
    {
      MutexLock lock(mu_);
      if (!owning_) {
        refused = NotOwner();
      } else {
        e.position = next_position_;
        e.prev_hash = staged_hash_;
        e.hash = ComputeHash(e);
        auto* id = new std::string(e.id);
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
        try {
          err =
              ProduceEvent(producer_, opts_.topic, opts_.partition, my_epoch_, e, opts_.source, id);
        } catch (const std::exception& ex) {
          delete id;
          refused = MakeError(ErrorCode::kInvalidArgument,
                              std::string("the event cannot be encoded: ") + ex.what());
        }
        if (!refused) {
          if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            delete id;
            // The chain this node staged now has a hole: nothing after it can
            // count, so the ownership ends here (a new Claim() starts over).
            LoseOwnership(std::string("cannot write to kafka: ") + rd_kafka_err2str(err));
            refused = MakeError(ErrorCode::kUnavailable,
                                Where() + ": cannot write: " + rd_kafka_err2str(err));
          } else {
            next_position_ = next_position_.next();
            staged_hash_ = e.hash;
            pending_.emplace(e.id, std::move(done));
          }
        }
      }
    }
    if (refused) {
      done(*refused);
      return;
    }
    FinishFailed();
  }

  void Release(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    UniqueLock lock(mu_);
    if (owning_) {
      owning_ = false;
      lost_reason_ = "handed over";
    }
    while (!pending_.empty()) {
      if (changed_.wait_until(lock.native(), deadline) == std::cv_status::timeout) break;
    }
  }

  bool owns() const {
    MutexLock lock(mu_);
    return owning_;
  }
  uint64_t epoch() const {
    MutexLock lock(mu_);
    return fence_.epoch();
  }
  std::string owner() const {
    MutexLock lock(mu_);
    return fence_.owner();
  }
  Position counted_position() const {
    MutexLock lock(mu_);
    return fence_.last_position();
  }
  uint64_t fenced_writes() const {
    MutexLock lock(mu_);
    return fenced_writes_;
  }

 private:
  std::string Where() const {
    return "partition " + std::to_string(opts_.partition) + " of " + opts_.topic;
  }

  Status NotOwner() const TL_REQUIRES(mu_) {
    std::string owner = fence_.owner().empty() ? "no node" : fence_.owner();
    return MakeError(ErrorCode::kUnavailable,
                     Where() + " is not owned by " + opts_.node_id + " (owner: " + owner +
                         ", epoch " + std::to_string(fence_.epoch()) + ")" +
                         (lost_reason_.empty() ? "" : ": " + lost_reason_));
  }

  // Ends this node's ownership: every write still waiting fails (after the
  // lock is released, in FinishFailed).
  void LoseOwnership(std::string reason) TL_REQUIRES(mu_) {
    owning_ = false;
    lost_reason_ = std::move(reason);
    Status st = NotOwner();
    for (auto& [id, done] : pending_) failed_.emplace_back(std::move(done), st);
    pending_.clear();
  }

  // Runs the callbacks of writes that failed, outside the lock.
  void FinishFailed() TL_EXCLUDES(mu_) {
    std::vector<std::pair<DoneFn, Status>> failed;
    {
      MutexLock lock(mu_);
      failed.swap(failed_);
    }
    for (auto& [done, st] : failed) done(st);
  }

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    std::unique_ptr<std::string> id(static_cast<std::string*>(m->_private));
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;  // settled when read back
    MutexLock lock(self->mu_);
    if (id != nullptr) {
      auto it = self->pending_.find(*id);
      if (it != self->pending_.end()) {
        self->failed_.emplace_back(
            std::move(it->second),
            MakeError(ErrorCode::kUnavailable, self->Where() + ": kafka did not take the event: " +
                                                   rd_kafka_err2str(m->err)));
        self->pending_.erase(it);
      }
    }
    if (self->owning_) {
      self->LoseOwnership(std::string("a write failed: ") + rd_kafka_err2str(m->err));
    }
    self->changed_.notify_all();  // Release() waits for pending writes to settle
  }

  void ReadLoop() {
    while (!stop_.load()) {
      rd_kafka_poll(producer_, 0);
      FinishFailed();
      rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_, 10);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) Fold(m);
      rd_kafka_message_destroy(m);
      FinishFailed();
    }
  }

  // One record of the partition, in offset order.
  void Fold(rd_kafka_message_t* m) {
    ClusterRecord r = DecodeClusterRecord(m);
    std::optional<Event> counted;
    DoneFn acknowledged;
    {
      MutexLock lock(mu_);
      next_offset_ = m->offset + 1;
      if (r.kind == ClusterRecord::Kind::kClaim) {
        FoldClaim(r);
      } else if (r.kind == ClusterRecord::Kind::kEvent) {
        PartitionFence::Verdict v = fence_.OnEvent(r.epoch, *r.event);
        auto it = pending_.find(r.event->id);
        if (v == PartitionFence::Verdict::kCounted) {
          if (it != pending_.end()) {
            acknowledged = std::move(it->second);
            pending_.erase(it);
          }
          counted = std::move(r.event);
        } else if (it != pending_.end()) {
          ++fenced_writes_;
          failed_.emplace_back(std::move(it->second), NotOwner());
          pending_.erase(it);
          if (owning_) {
            LoseOwnership(std::string("an event was read back ") + std::string(VerdictName(v)));
          }
        }
      }
      // Foreign records (not written by a node) count for nothing.
    }
    changed_.notify_all();
    if (counted && on_counted_) on_counted_(*counted);
    if (acknowledged) acknowledged(Status(Ok{}));
  }

  void FoldClaim(const ClusterRecord& r) TL_REQUIRES(mu_) {
    const bool mine = !claim_nonce_.empty() && r.nonce == claim_nonce_;
    PartitionFence::Verdict v = fence_.OnClaim(r.epoch, r.node);
    if (v == PartitionFence::Verdict::kClaimed && mine) {
      owning_ = true;
      lost_reason_.clear();
      my_epoch_ = r.epoch;
      next_position_ = fence_.last_position().next();
      staged_hash_ = fence_.last_hash();
      claim_result_ = Status(Ok{});
    } else if (v == PartitionFence::Verdict::kClaimed) {
      if (owning_) LoseOwnership("claimed by " + r.node + " at epoch " + std::to_string(r.epoch));
      if (!claim_nonce_.empty()) {
        claim_result_ = MakeError(ErrorCode::kConflict, Where() + " was claimed by " + r.node +
                                                            " at epoch " + std::to_string(r.epoch));
      }
    } else if (mine) {
      claim_result_ = MakeError(ErrorCode::kConflict, Where() + ": a claim at epoch " +
                                                          std::to_string(fence_.epoch()) + " by " +
                                                          fence_.owner() + " came first");
    }
  }

  const PartitionLogOptions opts_;
  const CountedFn on_counted_;
  rd_kafka_t* producer_ = nullptr;
  rd_kafka_t* consumer_ = nullptr;
  std::thread reader_;
  std::atomic<bool> stop_{false};

  mutable Mutex mu_;
  std::condition_variable changed_;  // a record was read (waits use mu_.native())
  PartitionFence fence_ TL_GUARDED_BY(mu_);
  int64_t next_offset_ TL_GUARDED_BY(mu_) = 0;  // the next offset to read
  bool owning_ TL_GUARDED_BY(mu_) = false;
  std::string lost_reason_ TL_GUARDED_BY(mu_);
  uint64_t my_epoch_ TL_GUARDED_BY(mu_) = 0;
  std::string claim_nonce_ TL_GUARDED_BY(mu_);  // set while a Claim() waits
  std::optional<Status> claim_result_ TL_GUARDED_BY(mu_);
  // The chain as this node staged it: the next event continues it.
  Position next_position_ TL_GUARDED_BY(mu_){1};
  std::string staged_hash_ TL_GUARDED_BY(mu_) = kGenesisHash;
  std::unordered_map<std::string, DoneFn> pending_ TL_GUARDED_BY(mu_);  // by event id
  std::vector<std::pair<DoneFn, Status>> failed_ TL_GUARDED_BY(mu_);
  uint64_t fenced_writes_ TL_GUARDED_BY(mu_) = 0;
};

Result<std::unique_ptr<PartitionLog>> PartitionLog::Open(PartitionLogOptions options,
                                                         CountedFn on_counted) {
  if (options.brokers.empty() || options.topic.empty() || options.node_id.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a partition log needs brokers, a topic and a node id");
  }
  auto impl = std::make_unique<Impl>(std::move(options), std::move(on_counted));
  Status st = impl->Start();
  if (!st.ok()) return st.error();
  return std::unique_ptr<PartitionLog>(new PartitionLog(std::move(impl)));
}

PartitionLog::PartitionLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PartitionLog::~PartitionLog() = default;

Status PartitionLog::Claim() { return impl_->Claim(); }
void PartitionLog::Append(Event e, DoneFn done) { impl_->Append(std::move(e), std::move(done)); }
void PartitionLog::Release(std::chrono::milliseconds timeout) { impl_->Release(timeout); }

Status AwaitDone(const std::function<void(std::function<void(Status)>)>& start) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Status> outcome;
  start([&](Status st) {
    std::lock_guard<std::mutex> lock(mu);
    outcome = std::move(st);
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return outcome.has_value(); });
  return *outcome;
}

Status PartitionLog::AppendAndWait(Event e) {
  return AwaitDone([&](DoneFn done) { Append(std::move(e), std::move(done)); });
}

bool PartitionLog::owns() const { return impl_->owns(); }
uint64_t PartitionLog::epoch() const { return impl_->epoch(); }
std::string PartitionLog::owner() const { return impl_->owner(); }
Position PartitionLog::counted_position() const { return impl_->counted_position(); }
uint64_t PartitionLog::fenced_writes() const { return impl_->fenced_writes(); }

}  // namespace tl
