#include "services/core/startup.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <future>
#include <vector>

#include "events/high_water_mark.h"
#include "projections/replay.h"
#include "projections/snapshot.h"

namespace tl {
namespace {

// After the log and the snapshot (`state`) are loaded: kCorruption when the
// log has lost events the snapshot proves were acknowledged.
Status CheckSnapshotAgainstLog(const EventLog& log, const Projection& state,
                               const std::string& snapshot_dir, const std::string& snapshot_hash) {
  // A snapshot covers only durable events, and a durable event is never cut
  // as a torn tail: a log that ends before the snapshot, or holds another
  // event where the snapshot's last one was, has lost acknowledged events
  // (a damaged, cut or deleted segment, or a log from elsewhere). Starting
  // anyway would silently drop them; the operator decides.
  const Position at = state.last_position();
  const Position log_end = log.DurablePosition();
  const std::string repair =
      " Restore the data directory from a replica (`tokenledger restore --from-kafka --data "
      "NEWDIR`) or a backup; to accept the log as it is, move " +
      snapshot_dir + " away and start again.";
  if (at > log_end) {
    return MakeError(ErrorCode::kCorruption,
                     "the newest snapshot covers position " + std::to_string(at.value()) +
                         " but the log ends at position " + std::to_string(log_end.value()) +
                         ": acknowledged events are missing from the log." + repair);
  }
  if (at == Position(0) || snapshot_hash.empty()) return Ok{};
  std::vector<Event> event = log.Read(at, 1);
  if (event.size() != 1 || event[0].hash != snapshot_hash) {
    return MakeError(ErrorCode::kCorruption,
                     "the newest snapshot was taken after an event at position " +
                         std::to_string(at.value()) + " with hash " + snapshot_hash +
                         ", but the log holds another event there: the log is not the history "
                         "the snapshot was taken from." +
                         repair);
  }
  return Ok{};
}

// REQUIRES: the log and the snapshot are loaded. Accepting a log that lost
// acknowledged events: reports what is dropped, sets aside the snapshots
// that cover lost events (then *state is emptied, to be rebuilt from the
// log) and moves the mark back.
Status AcceptLogLoss(const LedgerOptions& options, const EventLog& log, Projection* state,
                     const std::string& snapshot_dir, const std::string& snapshot_hash) {
  const Position log_end = log.DurablePosition();
  auto mark = ReadHighWaterMark(options.data_dir);
  if (!mark.ok()) return mark.error();
  if (*mark && (*mark)->position > log_end) {
    options.warn("accepting log loss: positions " + std::to_string(log_end.value() + 1) + " to " +
                 std::to_string((*mark)->position.value()) + " (" +
                 std::to_string((*mark)->position.value() - log_end.value()) +
                 " acknowledged events) are missing from the log and are dropped; the log "
                 "goes on from position " +
                 std::to_string(log_end.value()));
  } else if (*mark && (*mark)->position != Position(0)) {
    std::vector<Event> at = log.Read((*mark)->position, 1);
    if (at.size() != 1 || at[0].hash != (*mark)->hash) {
      options.warn("accepting log loss: the log holds another event at the acknowledged position " +
                   std::to_string((*mark)->position.value()) + " than the one acknowledged (" +
                   (*mark)->hash + "); going on with the log as it is");
    }
  }
  if (!CheckSnapshotAgainstLog(log, *state, snapshot_dir, snapshot_hash).ok()) {
    // The snapshots cover events the log lost: set them aside (not deleted)
    // and rebuild the state from the log.
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(snapshot_dir, ec)) {
      const std::string path = entry.path().string();
      if (entry.path().extension() != ".json") continue;
      std::filesystem::rename(path, path + ".dropped", ec);
      if (ec) return MakeError(ErrorCode::kIo, "cannot set aside " + path + ": " + ec.message());
      options.warn("accepting log loss: set aside " + path +
                   " (it covers events the log lost) as " + path + ".dropped");
    }
    *state = Projection();
  }
  const auto [position, hash] = log.DurableMark();
  return WriteHighWaterMark(options.data_dir, {position, hash});
}

}  // namespace

Result<LoadedState> LoadState(const LedgerOptions& options) {
  // Opening the log (its index of streams and positions) and loading the
  // snapshot need nothing from each other and take seconds each at a million
  // tokens: they run at once. The loader's warnings are reported after it.
  const std::string snapshot_dir = options.data_dir + "/snapshots";
  std::vector<std::string> snapshot_warnings;
  std::string snapshot_hash;
  std::future<Result<Projection>> loading = std::async(std::launch::async, [&] {
    return LoadNewestSnapshot(
        snapshot_dir, [&](std::string_view w) { snapshot_warnings.emplace_back(w); },
        &snapshot_hash);
  });
  // Events up to the high-water mark were durable, so possibly acknowledged:
  // the log must reach it, and is not cut short of it as a torn tail.
  auto mark = ReadHighWaterMark(options.data_dir);
  LogOptions log_options = options.log;
  if (mark.ok() && *mark && !options.accept_log_loss) log_options.must_reach = (*mark)->position;
  auto opened = EventLog::Open(options.data_dir + "/log", log_options);
  Result<Projection> snap = loading.get();
  for (const std::string& w : snapshot_warnings) options.warn(w);
  if (!mark.ok()) return mark.error();
  const std::string repair =
      " Restore the data directory from a replica (`tokenledger restore --from-kafka --data "
      "NEWDIR`) or a backup, or start with --accept-log-loss to go on without those events.";
  if (!opened.ok()) {
    if (opened.error().code != ErrorCode::kCorruption || !*mark) return opened.error();
    return MakeError(ErrorCode::kCorruption, opened.error().message + " (high-water mark in " +
                                                 HighWaterMarkPath(options.data_dir) + ")." +
                                                 repair);
  }
  LoadedState loaded;
  loaded.log = std::move(opened).value();
  const EventLog& log = *loaded.log;
  if (!snap.ok()) return snap.error();
  loaded.state = std::move(snap).value();
  if (options.accept_log_loss) {
    if (Status s = AcceptLogLoss(options, log, &loaded.state, snapshot_dir, snapshot_hash);
        !s.ok()) {
      return s.error();
    }
  } else if (*mark && (*mark)->position != Position(0)) {
    std::vector<Event> at = log.Read((*mark)->position, 1);
    if (at.size() != 1 || at[0].hash != (*mark)->hash) {
      return MakeError(ErrorCode::kCorruption,
                       "position " + std::to_string((*mark)->position.value()) +
                           " was acknowledged with hash " + (*mark)->hash + " (" +
                           HighWaterMarkPath(options.data_dir) +
                           ") but the log holds another event there: the log is not the history "
                           "that was acknowledged." +
                           repair);
    }
  }
  if (Status s = CheckSnapshotAgainstLog(log, loaded.state, snapshot_dir, snapshot_hash); !s.ok()) {
    return s.error();
  }
  if (loaded.state.last_position() == Position(0) && log.DurablePosition() != Position(0)) {
    options.warn("no snapshot to start from in " + snapshot_dir +
                 "; rebuilding the state from the whole log (" +
                 std::to_string(log.DurablePosition().value()) + " events)");
  }
  loaded.snapshot_position = loaded.state.last_position();
  // The events folded on top of the snapshot are checked against their
  // hashes: one altered on disk (CRCs redone) stops the start-up.
  Result<Position> replayed = ReplayLog(log.dir(), loaded.state, {}, {.verify_hashes = true});
  if (!replayed.ok()) return replayed.error();
  if (*replayed != log.DurablePosition()) {
    return MakeError(ErrorCode::kCorruption,
                     "replay ended at position " + std::to_string(replayed->value()) +
                         " but the log holds " + std::to_string(log.DurablePosition().value()));
  }
  return loaded;
}

Result<std::string> BootstrapSecret(const LedgerOptions& options) {
  std::string secret = options.bootstrap_secret.value_or("");
  if (secret.empty()) secret = GenerateSecret(kDefaultSecretPrefix, options.random_bytes);
  // No secret is shorter than kMinSecretChars: the echo rules of the HTTP
  // front ends (IsSafeToEcho) rely on it.
  const bool valid =
      secret.size() >= kMinSecretChars && std::none_of(secret.begin(), secret.end(), [](char c) {
        return std::isspace(static_cast<unsigned char>(c));
      });
  if (!valid) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "TOKENLEDGER_BOOTSTRAP_TOKEN must be at least 32 characters without whitespace");
  }
  return secret;
}

}  // namespace tl
