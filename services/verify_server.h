#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "events/durable_waiter.h"
#include "events/result.h"
#include "services/http1_parser.h"
#include "services/ledger.h"
#include "services/metrics.h"
#include "services/round_gate.h"

namespace tl {

struct VerifyServerOptions {
  Http1Limits limits;
  // A connection that sends nothing for this long is closed (one waiting for
  // its answer never is).
  int64_t idle_timeout_ms = 60'000;
  // Connections beyond this are accepted and closed at once.
  size_t max_connections = 4096;
  // Who makes each round durable. 0: the loop itself, one round at a time
  // (it writes and syncs what it gathered, then answers; requests arriving
  // meanwhile wait in their sockets for ~one fdatasync). N > 0: N
  // DurableWaiter threads, so up to N rounds overlap while the loop reads on.
  // Measured on the 2-vCPU development VM (README, "What bounds the
  // figures"): the loop syncing did 2-22% more requests/s than one waiter
  // thread in 9 of 10 alternating wrk rounds (two cross-thread wake-ups
  // less per round), and two overlapping rounds did 3-12% less than one.
  size_t durable_threads = 0;
  // When a round starts: after the last one, once most connections have their
  // next request staged or the first has waited a bound (round_gate.h).
  RoundGateOptions gather;
  // Where request log lines go, a batch of whole lines per call. Default: stderr.
  std::function<void(std::string_view)> log_sink;
  // Test hook: replaces the syncing. Called on the loop thread with the
  // last staged position; whoever makes it durable then calls WakeForDurable().
  std::function<void(Position)> request_durable;
};

// The data plane: POST /v1/verify, answered exactly as HttpApi answers it,
// on an epoll event loop in one thread instead of a thread per connection.
//
// Why: every verification that records a use is answered only once its event
// is durable. A thread per connection (cpp-httplib) sleeps once more per
// request for that, and on few cores those sleeps and wake-ups cost more than
// the verification. Here the loop reads every connection that has a request,
// stages all their events, makes them durable (one group commit, when
// RoundGate says: round_gate.h), then writes all their answers: no thread
// sleeps per request.
//
// Plain HTTP/1.1 (keep-alive, pipelining; Content-Length or chunked bodies);
// every other route answers 404, other methods 405. Request log lines and
// /metrics counts are those of HttpApi (`metrics` and `route` are shared with it).
//
// Thread-safety: Run() on one thread; Stop() and WakeForDurable() from any.
class VerifyServer {
 public:
  // `ledger` and `metrics` must outlive this; `route` is metrics' id of
  // "POST /v1/verify".
  VerifyServer(Ledger& ledger, Metrics& metrics, Metrics::RouteId route,
               VerifyServerOptions options = {});
  ~VerifyServer();
  VerifyServer(const VerifyServer&) = delete;
  VerifyServer& operator=(const VerifyServer&) = delete;

  // Binds host:port (port 0 picks a free one). Returns the bound port.
  Result<int> Bind(const std::string& host, int port);
  // Serves until Stop(). REQUIRES: Bind succeeded. Connections still waiting
  // for durability when it returns are closed unanswered (never acknowledged;
  // their events are made durable when the ledger closes).
  void Run();
  void Stop();
  // Makes the loop look at the log's durable position again.
  void WakeForDurable();

 private:
  struct Connection;
  struct Waiting {
    uint64_t connection;
    Ledger::Pending pending;
  };
  void Accept();
  void OnReadable(Connection& c);
  void OnWritable(Connection& c);
  // Parses and handles the requests buffered on `c` while it may take one
  // (ProcessBuffered); closes `c` when its peer is done and nothing is left.
  void ProcessInput(Connection& c);
  void ProcessBuffered(Connection& c);
  // Answers "Expect: 100-continue" once the head of a request has arrived.
  void MaybeContinue(Connection& c);
  void Handle(Connection& c, const Http1Request& req);
  void HandleVerify(Connection& c, const Http1Request& req);
  // Queues the answer of `c`'s current request, logs and counts it, writes.
  void Answer(Connection& c, int status, std::string_view content_type, std::string_view body,
              std::string_view extra_headers = {});
  void AnswerProblem(Connection& c, int status, std::string_view slug, std::string_view title,
                     std::string_view detail, std::string_view field = {});
  void AnswerError(Connection& c, const Error& e);
  void AnswerDurable();
  // Asks for durability of everything staged when the gate says so.
  void MaybeRequestDurable();
  // Whether another round may start (fewer than durable_threads in flight).
  bool RoundSlotFree();
  // How long the loop may sleep before it has something to do by time alone (µs).
  int64_t WaitUs();
  void TryWrite(Connection& c);
  void SetInterest(Connection& c, uint32_t events);
  void Close(Connection& c);
  void SweepIdle(int64_t now_ms);
  void FlushLogLines();

  Ledger& ledger_;
  Metrics& metrics_;
  const Metrics::RouteId route_;
  VerifyServerOptions options_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: positions became durable
  int stop_fd_ = -1;  // eventfd: Stop()

  // Owned by the loop thread.
  uint64_t next_id_ = 1;
  bool listen_paused_ = false;  // out of descriptors: accepting again at the next sweep
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::deque<Waiting> waiting_;         // in position order (one thread stages them)
  RoundGate gate_;              // what was staged since the last round, and since when
  Ledger::Pending last_staged_;  // the newest of it
  // Rounds other threads sync, not yet known settled (Ledger::Settled).
  std::deque<Ledger::Pending> in_flight_;
  std::string log_lines_;
  // Declared last: its threads call WakeForDurable until it is destroyed.
  std::unique_ptr<DurableWaiter> waiter_;
};

}  // namespace tl
