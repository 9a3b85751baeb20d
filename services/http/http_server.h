#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "events/durable_waiter.h"
#include "events/result.h"
#include "events/thread_annotations.h"
#include "services/core/ledger.h"
#include "services/http/http1_parser.h"
#include "services/http/http_api.h"
#include "services/http/http_common.h"
#include "services/http/metrics.h"
#include "services/http/round_gate.h"
#include "services/http/tls_context.h"

namespace tl {

struct HttpServerOptions {
  Http1Limits limits;
  // A connection that sends nothing for this long between requests is
  // closed (one waiting for its answer never is).
  int64_t idle_timeout_ms = 60'000;
  // The whole request head must arrive within this, counted from its first
  // byte: a client trickling a head (slowloris) is answered 408 and closed.
  int64_t head_timeout_ms = 10'000;
  // Connections beyond these are accepted and closed at once (counted in
  // /metrics, logged at most once per 10 s).
  size_t max_connections = 4096;
  size_t max_connections_per_address = 256;
  // Threads that run the routes which may block: management commands (they
  // wait for durability), lists, feeds, usage, /readyz, /metrics, console
  // files. /healthz and POST /v1/verify never leave the loop.
  size_t workers = 4;
  // Stop(): how long requests already received may take to be answered.
  int64_t drain_timeout_ms = 10'000;
  // Who makes each round of verifications durable. 0: the loop itself, one
  // round at a time (it writes and syncs what it gathered, then answers;
  // requests arriving meanwhile wait in their sockets for ~one fdatasync).
  // N > 0: N DurableWaiter threads, so up to N rounds overlap while the loop
  // reads on. Measured on a 2-vCPU VM (services/README.md): the loop syncing
  // did 2-22% more requests/s than one waiter thread in 9 of 10 alternating
  // wrk rounds (two cross-thread wake-ups less per round), and two
  // overlapping rounds did 3-12% less than one.
  size_t durable_threads = 0;
  // When a round starts: after the last one, once most connections have their
  // next request staged or the first has waited a bound (round_gate.h).
  RoundGateOptions gather;
  // Where request and server log lines go, a batch of whole lines per call.
  // Default: stderr.
  std::function<void(std::string_view)> log_sink;
  // Test hook: replaces the syncing. Called on the loop thread with the
  // last staged position; whoever makes it durable then calls WakeForDurable().
  std::function<void(Position)> request_durable;
};

// The HTTP front end: every route of `api` on an epoll event loop in one
// thread, with a small pool of workers for the routes that may block.
//
// Why a loop: every verification that records a use is answered only once
// its event is durable. A thread per connection sleeps once more per request
// for that, and on few cores those sleeps and wake-ups cost more than the
// verification. Here the loop reads every connection that has a request,
// stages all their verifications, makes them durable (one group commit, when
// RoundGate says: round_gate.h), then writes all their answers.
//
// Plain HTTP/1.1 (keep-alive, pipelining answered in order: a connection has
// at most one request in progress; Content-Length or chunked bodies, strict
// parsing: http1_parser.h). Everything a client can make it spend is bounded
// (HttpServerOptions); a route that needs a bearer is refused (401) as soon
// as the head is complete, before the body is read. Request log lines and
// /metrics counts are those of every transport (api.metrics()).
//
// Thread-safety: Run() on one thread; Stop() and WakeForDurable() from any.
class HttpServer {
 public:
  // `api` (and its ledger) must outlive this.
  explicit HttpServer(HttpApi& api, HttpServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port (port 0 picks a free one). Returns the bound port.
  // `verify_only`: this listener serves POST /v1/verify alone (every other
  // route answers 404), e.g. a data-plane port apart from the management one.
  // `tls`: the listener speaks HTTPS with the context of SetTlsContext.
  // REQUIRES: before Run(); for `tls`, SetTlsContext was called.
  Result<int> Bind(const std::string& host, int port, bool verify_only = false, bool tls = false);
  // The certificate for connections accepted from now on (those already
  // open keep theirs): set before Run, and again on SIGHUP. Thread-safe.
  void SetTlsContext(TlsContext ctx);
  // Serves until Stop() and the drain that follows. REQUIRES: Bind succeeded.
  void Run();
  // Graceful stop: /readyz answers 503, the listeners close, every request
  // already received is answered (its events durable), then Run returns;
  // after drain_timeout_ms, connections still waiting are closed unanswered
  // (never acknowledged; their events are made durable when the ledger closes).
  void Stop();
  // Makes the loop look at the log's durable position again.
  void WakeForDurable();

 private:
  struct Connection;
  struct Listener {
    int fd = -1;
    bool verify_only = false;
    bool tls = false;
  };
  struct Waiting {
    uint64_t connection;
    Ledger::Pending pending;
  };
  struct Job {
    uint64_t connection;
    ApiRequest request;
  };
  struct Done {
    uint64_t connection;
    ApiAnswer answer;
  };
  void Accept(Listener& l);
  // Closes `fd` at accept: over the total or the per-address bound.
  void Refuse(int fd, std::string_view reason);
  // recv/send, through TLS on a TLS connection: -1 with errno EAGAIN when
  // the socket (or the TLS engine) must wait, 0 at the peer's end.
  ssize_t Receive(Connection& c, char* buf, size_t size);
  ssize_t Transmit(Connection& c, const char* buf, size_t size);
  void OnReadable(Connection& c);
  void OnWritable(Connection& c);
  // Parses and handles the requests buffered on `c` while it may take one
  // (ProcessBuffered); closes `c` when its peer is done and nothing is left.
  void ProcessInput(Connection& c);
  void ProcessBuffered(Connection& c);
  // Once the head of a partly received request is complete: refuses it
  // early (415, 401) or answers "Expect: 100-continue".
  void CheckHead(Connection& c);
  void Handle(Connection& c, const Http1Request& req);
  void HandleVerify(Connection& c, const Http1Request& req);
  void Dispatch(Connection& c, const Http1Request& req);
  void WorkerLoop();
  void AnswerWorkers();
  // Queues the answer of `c`'s current request, logs and counts it, writes.
  void Answer(Connection& c, int status, std::string_view content_type, std::string_view body,
              std::string_view extra_headers = {});
  void AnswerApi(Connection& c, const ApiAnswer& a);
  void AnswerProblem(Connection& c, int status, std::string_view slug, std::string_view title,
                     std::string_view detail, std::string_view field = {});
  // Answers a request the server will not read on: then closes (lingering).
  void AnswerAndClose(Connection& c, const Problem& p);
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
  void Sweep(int64_t now_ms);
  void BeginDrain();
  bool Drained() const;
  void LogRefused(int64_t now_ms);
  void FlushLogLines();

  HttpApi& api_;
  Ledger& ledger_;
  Metrics& metrics_;
  HttpServerOptions options_;
  std::vector<Listener> listeners_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: positions became durable
  int stop_fd_ = -1;  // eventfd: Stop()
  int done_fd_ = -1;  // eventfd: a worker finished a request

  // Owned by the loop thread.
  uint64_t next_id_ = 1;
  bool listen_paused_ = false;  // out of descriptors: accepting again at the next sweep
  bool draining_ = false;
  int64_t drain_deadline_ms_ = 0;
  size_t jobs_outstanding_ = 0;  // dispatched, answer not yet taken back
  uint64_t refused_unlogged_ = 0;
  int64_t refused_logged_ms_ = 0;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::unordered_map<std::string, size_t> per_address_;
  std::deque<Waiting> waiting_;  // in position order (one thread stages them)
  RoundGate gate_;               // what was staged since the last round, and since when
  Ledger::Pending last_staged_;  // the newest of it
  // Rounds other threads sync, not yet known settled (Ledger::Settled).
  std::deque<Ledger::Pending> in_flight_;
  std::string log_lines_;
  // TLS connections with decrypted bytes buffered in the TLS engine, which
  // epoll cannot see: read again before the loop sleeps.
  std::vector<uint64_t> tls_pending_;

  // Shared with the workers.
  Mutex mu_;
  std::condition_variable work_cv_;
  std::deque<Job> jobs_ TL_GUARDED_BY(mu_);
  std::deque<Done> done_ TL_GUARDED_BY(mu_);
  bool workers_stop_ TL_GUARDED_BY(mu_) = false;
  TlsContext tls_ TL_GUARDED_BY(mu_);
  std::vector<std::thread> workers_;

  // Declared last: its threads call WakeForDurable until it is destroyed.
  std::unique_ptr<DurableWaiter> waiter_;
};

}  // namespace tl
