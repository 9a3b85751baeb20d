#include "services/core/ledger.h"

#include <iostream>

#include "events/crypto.h"
#include "events/dir_lock.h"
#include "services/core/startup.h"
#include "services/core/state_keeper.h"

namespace tl {

Ledger::Ledger(LedgerOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<Ledger>> Ledger::Open(LedgerOptions options) {
  if (options.clock == nullptr)
    return MakeError(ErrorCode::kInvalidArgument, "a clock is required");
  if (!options.random_bytes) options.random_bytes = RandomBytes;
  if (!options.warn) {
    options.warn = [](std::string_view m) { std::cerr << "warning: " << m << std::endl; };
  }
  if (!options.log.warn) options.log.warn = options.warn;
  std::unique_ptr<Ledger> ledger(new Ledger(std::move(options)));
  auto lock = DirLock::Acquire(ledger->options_.data_dir);
  if (!lock.ok()) return lock.error();
  ledger->dir_lock_ = std::move(lock).value();
  Result<LoadedState> loaded = LoadState(ledger->options_);
  if (!loaded.ok()) return loaded.error();
  ledger->log_ = std::move(loaded->log);
  // Before any command: the one copy of the whole state the keeper needs.
  ledger->keeper_ = std::make_unique<StateKeeper>(ledger->options_, *ledger->log_, loaded->state,
                                                  loaded->snapshot_position);
  {
    LockGuard<SharedMutex> l(ledger->mu_);
    ledger->last_command_ms_ = ledger->log_->LastStagedTime();
    ledger->projection_ = std::move(loaded->state);
  }
  if (Status s = ledger->Bootstrap(); !s.ok()) return s.error();
  ledger->keeper_->Start();
  return ledger;
}

// Only a ledger that loaded (it has a keeper) has a state to keep; one whose
// start was refused leaves the snapshots as they are.
Ledger::~Ledger() {
  if (keeper_) keeper_->Stop();
}

Status Ledger::Bootstrap() {
  if (log_->DurablePosition() != Position(0)) return Ok{};
  Result<std::string> secret = BootstrapSecret(options_);
  if (!secret.ok()) return secret.error();
  CreateTokenCommand cmd;
  cmd.name = "bootstrap admin";
  cmd.description = "Created on first start; manages every token.";
  cmd.owner = "admin";
  cmd.permissions = {std::string(kLedgerAdmin)};
  Caller system{"system", "admin", {std::string(kLedgerAdmin)}};
  Result<Pending> pending = [&]() -> Result<Pending> {
    LockGuard<SharedMutex> l(mu_);
    const int64_t now = CommandTimeLocked();
    auto events = DecideCreate(cmd, system, now, SecretDigest(*secret), SecretHint(*secret),
                               kDefaultSecretPrefix);
    if (!events.ok()) return events.error();
    return CommitLocked(NewTokenId(options_.random_bytes), Version(0), system, now,
                        std::move(events).value());
  }();
  if (!pending.ok()) return pending.error();
  if (Status durable = AwaitDurable(*pending); !durable.ok()) return durable;
  bootstrap_secret_ = std::move(secret).value();
  return Ok{};
}

std::optional<std::string> Ledger::TakeBootstrapSecret() {
  std::optional<std::string> s;
  s.swap(bootstrap_secret_);
  return s;
}

StateInfo Ledger::State() const { return keeper_->State(); }

Status Ledger::WriteSnapshotNow() { return keeper_->WriteSnapshotNow(); }

Result<IssuedToken> Ledger::Create(const Caller& caller, const CreateTokenCommand& cmd,
                                   const IdempotencyKey& key) {
  if (Status s = Authorize(caller, kLedgerWrite); !s.ok()) return s.error();
  return idempotent_creates_.Run(
      caller.token_id, key, Now(), [&](const std::string& scoped_key) -> Result<IssuedToken> {
        IssuedToken issued;
        issued.secret = GenerateSecret(cmd.prefix, options_.random_bytes);
        const std::string id = NewTokenId(options_.random_bytes);
        const std::string digest = SecretDigest(issued.secret);
        const std::string hint = SecretHint(issued.secret);
        Result<Pending> pending = [&]() -> Result<Pending> {
          LockGuard<SharedMutex> l(mu_);
          const int64_t now = CommandTimeLocked();
          auto events = DecideCreate(cmd, caller, now, digest, hint, cmd.prefix);
          if (!events.ok()) return events.error();
          auto committed =
              CommitLocked(id, Version(0), caller, now, std::move(events).value(), scoped_key);
          if (committed.ok()) issued.token = TokenAt{*projection_.Find(id), now};
          return committed;
        }();
        if (!pending.ok()) return pending.error();
        if (Status durable = AwaitDurable(*pending); !durable.ok()) return durable.error();
        return issued;
      });
}

Result<TokenAt> Ledger::ChangeToken(const Caller& caller, std::string_view id,
                                    const TokenDecider& decide) {
  if (Status s = Authorize(caller, kLedgerWrite); !s.ok()) return s.error();
  TokenAt changed;
  std::optional<Pending> pending;
  {
    LockGuard<SharedMutex> l(mu_);
    const int64_t now = CommandTimeLocked();
    auto t = VisibleLocked(caller, id);
    if (!t.ok()) return t.error();
    auto events = decide(**t, now);
    if (!events.ok()) return events.error();
    if (!events->empty()) {
      auto committed =
          CommitLocked((*t)->id, (*t)->stream_version, caller, now, std::move(events).value());
      if (!committed.ok()) return committed.error();
      pending = *committed;
    }
    changed = TokenAt{*projection_.Find(id), now};
  }
  if (pending) {
    if (Status durable = AwaitDurable(*pending); !durable.ok()) return durable.error();
  }
  return changed;
}

Result<TokenAt> Ledger::Update(const Caller& caller, std::string_view id,
                               const UpdateTokenCommand& cmd, std::optional<Version> if_match) {
  return ChangeToken(caller, id, [&](const TokenState& t, int64_t now) {
    return DecideUpdate(t, cmd, caller, now, if_match);
  });
}

Result<IssuedToken> Ledger::Regenerate(const Caller& caller, std::string_view id,
                                       const RegenerateCommand& cmd) {
  std::string secret;  // minted inside the decision: it needs the token's prefix
  Result<TokenAt> changed = ChangeToken(caller, id, [&](const TokenState& t, int64_t now) {
    secret = GenerateSecret(t.prefix, options_.random_bytes);
    return DecideRegenerate(t, cmd, caller, now, SecretDigest(secret), SecretHint(secret));
  });
  if (!changed.ok()) return changed.error();
  return IssuedToken{std::move(changed).value(), std::move(secret)};
}

Result<TokenAt> Ledger::Revoke(const Caller& caller, std::string_view id,
                               const RevokeCommand& cmd) {
  return ChangeToken(caller, id,
                     [&](const TokenState& t, int64_t) { return DecideRevoke(t, cmd, caller); });
}

Result<TokenAt> Ledger::AdjustCredits(const Caller& caller, std::string_view id,
                                      const AdjustCreditsCommand& cmd) {
  return ChangeToken(caller, id, [&](const TokenState& t, int64_t now) {
    return DecideCredits(t, cmd, caller, now);
  });
}

}  // namespace tl
