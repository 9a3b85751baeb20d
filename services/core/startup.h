#pragma once

#include <memory>
#include <string>

#include "events/log.h"
#include "events/result.h"
#include "projections/projection.h"
#include "services/core/ledger_options.h"

namespace tl {

// A data directory as a start finds it, checked.
struct LoadedState {
  std::unique_ptr<EventLog> log;
  Projection state;            // the fold of every durable event of `log`
  Position snapshot_position;  // what the newest snapshot covers (0: none)
};

// Opens the log of options.data_dir (cutting a torn tail, refusing
// corruption), loads the newest valid snapshot and folds the rest of the log
// onto it, checking the events folded against their hashes. Refuses
// (kCorruption, naming the positions and the repair) a log that lost events
// the high-water mark or the snapshot prove were acknowledged, unless
// options.accept_log_loss: then what is dropped is reported through
// options.warn, the snapshots that cover lost events are set aside and the
// mark is moved back. REQUIRES: the data directory's lock is held.
Result<LoadedState> LoadState(const LedgerOptions& options);

// The admin secret of a first start: options.bootstrap_secret, or one
// generated. kInvalidArgument when the given one is unfit.
Result<std::string> BootstrapSecret(const LedgerOptions& options);

}  // namespace tl
