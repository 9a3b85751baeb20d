#include "projections/replay.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "events/log_scan.h"
#include "events/thread_annotations.h"
#include "projections/fold_batch.h"

namespace tl {
namespace {

// Events per batch, and batches going round between the two threads: enough
// that neither waits for the other while both have work.
constexpr size_t kBatchSize = 2048;
constexpr size_t kBatches = 4;

// The hand-off between the reading thread, which fills batches, and the
// folding thread, which applies them in order and hands them back.
class BatchQueue {
 public:
  explicit BatchQueue(std::vector<FoldBatch>& batches) {
    for (FoldBatch& b : batches) free_.push_back(&b);
  }

  // Reader: an empty batch to fill; nullptr once the folder has stopped.
  FoldBatch* TakeFree() {
    UniqueLock lock(mu_);
    while (!stopped_ && free_.empty()) cv_.wait(lock.native());
    if (stopped_) return nullptr;
    FoldBatch* b = free_.front();
    free_.pop_front();
    b->Clear();
    return b;
  }
  void PushFull(FoldBatch* b) {
    MutexLock lock(mu_);
    full_.push_back(b);
    cv_.notify_all();
  }
  // Reader: nothing more will come; `result` is how the scan ended.
  void Finish(std::optional<Result<ScanSummary>> result, std::exception_ptr failure) {
    MutexLock lock(mu_);
    result_ = std::move(result);
    failure_ = failure;
    finished_ = true;
    cv_.notify_all();
  }

  // Folder: the next batch in log order; nullptr when the reader has finished
  // and every batch has been taken.
  FoldBatch* TakeFull() {
    UniqueLock lock(mu_);
    while (!finished_ && full_.empty()) cv_.wait(lock.native());
    if (full_.empty()) return nullptr;
    FoldBatch* b = full_.front();
    full_.pop_front();
    return b;
  }
  void Recycle(FoldBatch* b) {
    MutexLock lock(mu_);
    free_.push_back(b);
    cv_.notify_all();
  }
  // Folder: no more batches wanted (a limit was reached, or it failed).
  void Stop() {
    MutexLock lock(mu_);
    stopped_ = true;
    cv_.notify_all();
  }

  // After the reader has finished (joined): how the scan ended.
  std::optional<Result<ScanSummary>> TakeResult() {
    MutexLock lock(mu_);
    return std::move(result_);
  }
  std::exception_ptr failure() {
    MutexLock lock(mu_);
    return failure_;
  }

 private:
  Mutex mu_;
  std::condition_variable cv_;
  std::deque<FoldBatch*> free_ TL_GUARDED_BY(mu_), full_ TL_GUARDED_BY(mu_);
  bool stopped_ TL_GUARDED_BY(mu_) = false;
  bool finished_ TL_GUARDED_BY(mu_) = false;
  std::optional<Result<ScanSummary>> result_ TL_GUARDED_BY(mu_);
  std::exception_ptr failure_ TL_GUARDED_BY(mu_);
};

// The reading thread: scans the log (CRCs, chain linkage, decoding) into
// batches until the log ends, the folder stops it, or a record's data does
// not decode (nothing after that may be folded).
void ReadBatches(const std::string& log_dir, const ScanOptions& options, BatchQueue& queue) {
  try {
    FoldBatch* batch = queue.TakeFree();
    Result<ScanSummary> scanned = ScanLog(log_dir, options, [&](const ScannedRecord& r) {
      if (batch == nullptr) return false;
      batch->Add(r.event, r.raw_data);
      const bool bad = (*batch)[batch->size() - 1].kind == FoldBatch::Item::kBadData;
      if (batch->size() == kBatchSize || bad) {
        queue.PushFull(batch);
        batch = bad ? nullptr : queue.TakeFree();
      }
      return batch != nullptr;
    });
    if (batch != nullptr && batch->size() > 0) queue.PushFull(batch);
    queue.Finish(std::move(scanned), nullptr);
  } catch (...) {
    queue.Finish(std::nullopt, std::current_exception());
  }
}

}  // namespace

// Two threads: this one folds while another reads and decodes the next
// batches (about a third of the work). Limits are applied by the folder, event
// by event, so they are exact however far the reader has got; what the reader
// finds after the folder stopped (damage past --until, say) is never reported,
// just as a single pass would never have read it.
Result<Position> ReplayLog(const std::string& log_dir, Projection& p, const ReplayLimit& limit,
                           const ReplayChecks& checks) {
  ScanOptions options;
  options.verify_hashes = checks.verify_hashes;
  options.skip_before = p.last_position().next();
  // CRCs and the chain linkage are still checked; per-stream version order
  // was checked when the log was opened or verified, and costs a map lookup
  // per event here.
  options.check_stream_versions = false;
  // The fold reads one field of these (nearly every event of a log), and a
  // token.created becomes a TokenState: the batch decodes them itself,
  // without a JSON object per event.
  options.raw_data_types = 1u << static_cast<uint8_t>(EventType::kUsed) |
                           1u << static_cast<uint8_t>(EventType::kUseDenied) |
                           1u << static_cast<uint8_t>(EventType::kCreated);
  options.hex_hashes = false;  // the fold never reads them (verifying makes them hex anyway)

  std::vector<FoldBatch> batches(kBatches);
  BatchQueue queue(batches);
  std::thread reader(ReadBatches, std::cref(log_dir), std::cref(options), std::ref(queue));
  struct StopAndJoin {
    BatchQueue& queue;
    std::thread& reader;
    ~StopAndJoin() {
      queue.Stop();
      reader.join();
    }
  };
  std::optional<Position> bad_data;
  bool stopped = false;
  {
    StopAndJoin guard{queue, reader};
    while (!stopped) {
      FoldBatch* batch = queue.TakeFull();
      if (batch == nullptr) break;
      size_t n = 0;
      for (; n < batch->size(); ++n) {
        const FoldBatch::Item& item = (*batch)[n];
        stopped = (limit.until && item.position > *limit.until) ||
                  (limit.until_time_ms && item.time_ms > *limit.until_time_ms);
        if (!stopped && item.kind == FoldBatch::Item::kBadData) {
          bad_data = item.position;
          stopped = true;
        }
        if (stopped) break;
      }
      p.ApplyBatch(*batch, n);
      queue.Recycle(batch);
    }
  }
  if (std::exception_ptr failure = queue.failure()) std::rethrow_exception(failure);
  if (bad_data) {
    // What ScanLog reports when it decodes the data itself.
    return MakeError(ErrorCode::kCorruption,
                     "log damaged at position " + std::to_string(bad_data->value()) +
                         ": record does not decode (its data is not a JSON object)");
  }
  std::optional<Result<ScanSummary>> result = queue.TakeResult();
  if (!stopped && result) {
    if (!result->ok()) return result->error();
    std::string notice = TornTailNotice(result->value());
    if (!notice.empty() && checks.warn) checks.warn(notice);
  }
  return p.last_position();
}

}  // namespace tl
