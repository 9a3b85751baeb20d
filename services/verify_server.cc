#include "services/verify_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>

#include "events/thread_name.h"
#include "services/http_common.h"

namespace tl {
namespace {

constexpr uint64_t kListenTag = 0;
constexpr uint64_t kWakeTag = ~0ull;
constexpr uint64_t kStopTag = ~0ull - 1;
constexpr std::string_view kRoute = "POST /v1/verify";
constexpr size_t kReadChunk = 16 * 1024;

int64_t SteadyUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t SteadyMs() { return SteadyUs() / 1000; }

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

void WakeEventFd(int fd) {
  const uint64_t one = 1;
  // EAGAIN only when the counter is saturated: the loop is woken anyway.
  [[maybe_unused]] ssize_t n = ::write(fd, &one, sizeof one);
}

// epoll_wait with a timeout in µs (the gather bound is a few hundred µs;
// epoll_wait counts in ms). Kernels before 5.11 lack epoll_pwait2: there the
// timeout is rounded up to whole ms.
int WaitForEvents(int epoll_fd, epoll_event* events, int max_events, int64_t timeout_us) {
  static std::atomic<bool> have_pwait2{true};
  if (have_pwait2.load(std::memory_order_relaxed)) {
    const timespec ts{static_cast<time_t>(timeout_us / 1'000'000),
                      static_cast<long>(timeout_us % 1'000'000) * 1000};
    const int n = ::epoll_pwait2(epoll_fd, events, max_events, &ts, nullptr);
    if (n >= 0 || errno != ENOSYS) return n;
    have_pwait2.store(false, std::memory_order_relaxed);
  }
  return ::epoll_wait(epoll_fd, events, max_events, static_cast<int>((timeout_us + 999) / 1000));
}

void DrainEventFd(int fd) {
  uint64_t n = 0;
  [[maybe_unused]] ssize_t r = ::read(fd, &n, sizeof n);
}

// Whether a request head (up to its blank line) has "Expect: 100-continue".
bool ExpectsContinue(std::string_view head) {
  constexpr std::string_view kName = "\nexpect:";
  for (size_t i = head.find('\n'); i != std::string_view::npos; i = head.find('\n', i + 1)) {
    if (head.size() - i < kName.size() ||
        strncasecmp(head.data() + i, kName.data(), kName.size()) != 0)
      continue;
    std::string_view value = head.substr(i + kName.size());
    value = value.substr(0, value.find_first_of("\r\n"));
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    return value.size() == 12 && strncasecmp(value.data(), "100-continue", 12) == 0;
  }
  return false;
}

std::string PeerAddress(const sockaddr_storage& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(a).sin_addr, buf, sizeof buf);
  } else if (a.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(a).sin6_addr, buf, sizeof buf);
  }
  return buf;
}

}  // namespace

struct VerifyServer::Connection {
  enum class State {
    kReading,  // may take its next request
    kWaiting,  // its answer waits for its event to be durable
    kWriting,  // its answer is (partly) queued in `out`
  };
  uint64_t id = 0;
  int fd = -1;
  std::string remote;
  State state = State::kReading;
  uint32_t interest = 0;  // epoll events registered
  std::string in;         // bytes read, not yet consumed by a request
  std::string out;        // answer bytes not yet written
  size_t out_written = 0;
  bool close_after_write = false;
  bool continue_sent = false;  // 100 Continue answered the current request's head
  bool peer_done = false;      // the peer shut its side: answer what was taken, then close
  int64_t last_activity_ms = 0;
  // The current request, for its answer and log line.
  std::chrono::steady_clock::time_point started;
  std::string method;
  std::string path;
  std::string request_id;
  bool keep_alive = true;
  bool http10 = false;       // an HTTP/1.0 client keeps the connection only when told so
  bool matched = false;      // routed to POST /v1/verify
  std::string waiting_body;  // a staged verification's answer
};

VerifyServer::VerifyServer(Ledger& ledger, Metrics& metrics, Metrics::RouteId route,
                           VerifyServerOptions options)
    : ledger_(ledger), metrics_(metrics), route_(route), options_(std::move(options)),
      gate_(options_.gather) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  stop_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (wake_fd_ < 0 || stop_fd_ < 0 || epoll_fd_ < 0) {
    std::fprintf(stderr, "verify server: cannot create epoll/eventfd: %s\n", std::strerror(errno));
    std::abort();  // the process cannot serve at all: a broken environment, not input
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  ev.data.u64 = kStopTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &ev);
  if (!options_.log_sink) {
    options_.log_sink = [](std::string_view lines) {
      std::fwrite(lines.data(), 1, lines.size(), stderr);
    };
  }
  if (!options_.request_durable && options_.durable_threads > 0) {
    waiter_ =
        ledger_.NewDurableWaiter(options_.durable_threads, [this](Position) { WakeForDurable(); });
  }
}

VerifyServer::~VerifyServer() {
  waiter_.reset();  // its threads write wake_fd_
  for (auto& [id, c] : connections_) ::close(c->fd);
  connections_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  ::close(epoll_fd_);
  ::close(wake_fd_);
  ::close(stop_fd_);
}

Result<int> VerifyServer::Bind(const std::string& host, int port) {
  const std::string where = host + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 ||
      found == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, "cannot resolve " + where);
  }
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) return MakeError(ErrorCode::kIo, "cannot listen on " + where);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  const int bound_port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(bound).sin6_port
                                        : reinterpret_cast<sockaddr_in&>(bound).sin_port);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  listen_fd_ = fd;
  return bound_port;
}

void VerifyServer::Stop() { WakeEventFd(stop_fd_); }

void VerifyServer::WakeForDurable() { WakeEventFd(wake_fd_); }

void VerifyServer::Run() {
  NameThisThread("tl-verify-loop");
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  int64_t last_sweep = SteadyMs();
  for (;;) {
    const int n = WaitForEvents(epoll_fd_, events, kMaxEvents, WaitUs());
    if (n < 0 && errno != EINTR) break;
    bool stop = false;
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kListenTag) {
        Accept();
      } else if (tag == kWakeTag) {
        DrainEventFd(wake_fd_);
      } else if (tag == kStopTag) {
        stop = true;
      } else {
        auto it = connections_.find(tag);
        if (it == connections_.end()) continue;  // closed earlier in this batch
        Connection& c = *it->second;
        if (events[i].events & EPOLLOUT) OnWritable(c);
        if (!connections_.count(tag)) continue;
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) OnReadable(c);
      }
    }
    if (stop) break;
    if (!waiting_.empty()) AnswerDurable();
    MaybeRequestDurable();
    FlushLogLines();
    const int64_t now = SteadyMs();
    if (now - last_sweep >= 1000) {
      SweepIdle(now);
      last_sweep = now;
    }
  }
  FlushLogLines();
}

void VerifyServer::Accept() {
  for (;;) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        // Out of descriptors: the pending connection would wake every pass.
        // Stop listening until the next idle sweep (a second) frees some.
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
        listen_paused_ = true;
      }
      return;  // EAGAIN: all taken; anything else: try again on the next wake
    }
    if (connections_.size() >= options_.max_connections) {
      ::close(fd);
      continue;
    }
    const int yes = 1;
    // Small answers otherwise wait on Nagle + delayed ACK.
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    auto c = std::make_unique<Connection>();
    c->id = next_id_++;
    c->fd = fd;
    c->remote = PeerAddress(peer);
    c->last_activity_ms = SteadyMs();
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = c->id;
    c->interest = EPOLLIN;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      continue;
    }
    connections_.emplace(c->id, std::move(c));
  }
}

void VerifyServer::SetInterest(Connection& c, uint32_t events) {
  if (c.interest == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = c.id;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  c.interest = events;
}

void VerifyServer::OnReadable(Connection& c) {
  // Bounded: a client may send ahead (pipelining) while an answer is pending,
  // but not more than one whole request beyond what is buffered.
  const size_t cap =
      2 * options_.limits.max_head_bytes + options_.limits.max_body_bytes + kReadChunk;
  if (c.in.size() >= cap) {
    SetInterest(c, c.interest & ~static_cast<uint32_t>(EPOLLIN));
    return;
  }
  // Received into one buffer of the loop's, then appended: growing c.in by a
  // whole chunk first would zero 16 KiB per read for a ~300-byte request.
  thread_local char chunk[kReadChunk];
  const ssize_t n = ::recv(c.fd, chunk, sizeof chunk, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    return Close(c);  // the socket failed
  }
  if (n == 0) {
    // The peer sent all it will (it may still read: a half-close). A request
    // already taken is answered first; a partial one never completes.
    c.peer_done = true;
    SetInterest(c, c.interest & ~static_cast<uint32_t>(EPOLLIN));
    if (c.state == Connection::State::kReading) Close(c);
    return;
  }
  c.in.append(chunk, static_cast<size_t>(n));
  c.last_activity_ms = SteadyMs();
  if (c.state == Connection::State::kReading) ProcessInput(c);
}

void VerifyServer::ProcessInput(Connection& c) {
  const uint64_t id = c.id;
  ProcessBuffered(c);
  // Nothing more will arrive from a peer that is done sending.
  if (connections_.count(id) && c.peer_done && c.state == Connection::State::kReading) Close(c);
}

void VerifyServer::ProcessBuffered(Connection& c) {
  thread_local Http1Request req;
  Http1Error error;
  const uint64_t id = c.id;  // an answer may close (and free) c
  while (c.state == Connection::State::kReading && !c.in.empty()) {
    const Http1Status st = ParseHttp1Request(c.in, options_.limits, &req, &error);
    if (st == Http1Status::kNeedMore) return MaybeContinue(c);
    c.continue_sent = false;
    c.started = std::chrono::steady_clock::now();
    if (st == Http1Status::kError) {
      c.method.clear();
      c.path.clear();
      c.request_id = NewRequestId();
      c.matched = false;
      c.keep_alive = false;  // the stream is out of step: answer, then close
      c.in.clear();
      AnswerProblem(c, error.status, "invalid-http", "Invalid HTTP request", error.detail);
      return;
    }
    const size_t consumed = req.consumed;
    try {
      Handle(c, req);
    } catch (const std::exception&) {
      // No internals in the answer; the log line has the route.
      AnswerProblem(c, 500, "internal", "Internal error",
                    "the server could not complete the request");
    }
    if (!connections_.count(id)) return;  // closed while answering
    c.in.erase(0, consumed);
  }
}

void VerifyServer::MaybeContinue(Connection& c) {
  if (c.continue_sent) return;
  const size_t head_end = c.in.find("\r\n\r\n");
  if (head_end == std::string::npos || !ExpectsContinue(std::string_view(c.in).substr(0, head_end)))
    return;
  // RFC 9110 10.1.1: the client may wait for this before it sends the body
  // (curl does, for a second, when the body is over 1 KiB).
  constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  c.continue_sent = true;
  [[maybe_unused]] ssize_t n = ::send(c.fd, kContinue.data(), kContinue.size(), MSG_NOSIGNAL);
}

void VerifyServer::Handle(Connection& c, const Http1Request& req) {
  c.method.assign(req.method);
  c.path.assign(req.path);
  c.keep_alive = req.keep_alive;
  c.http10 = req.minor_version == 0;
  std::string_view id = req.Header("X-Request-Id");
  if (SaneRequestId(id)) {
    c.request_id.assign(id);
  } else {
    c.request_id = NewRequestId();
  }
  c.matched = req.path == "/v1/verify";
  if (!c.matched) {
    return AnswerProblem(c, 404, "not-found", "Not found",
                         "no such route: this listener serves POST /v1/verify only");
  }
  if (req.method != "POST") {
    return Answer(
        c, 405, "application/problem+json",
        MakeProblem(405, "method-not-allowed", "Method not allowed", "method not allowed").body,
        "Allow: POST\r\n");
  }
  HandleVerify(c, req);
}

void VerifyServer::HandleVerify(Connection& c, const Http1Request& req) {
  Ledger::StagedVerify staged = ledger_.StageAuthenticateAndVerify(
      BearerCredential(req.Header("Authorization")), ReadVerifyRequest(req.body), c.remote);
  if (!staged.response.ok()) return AnswerError(c, staged.response.error());
  Ledger::VerifyReply& r = staged.response.value();
  metrics_.CountVerification(r.code);
  if (!staged.pending) return Answer(c, 200, "application/json", r.body);
  c.waiting_body = std::move(r.body);
  c.state = Connection::State::kWaiting;
  waiting_.push_back({c.id, *staged.pending});
  last_staged_ = *staged.pending;
  gate_.Staged(SteadyUs());
}

void VerifyServer::MaybeRequestDurable() {
  if (gate_.staged() == 0) return;
  // Connections whose answer waits on a round in flight cannot send yet.
  // (waiting_ can be shorter than what the gate counts: another writer's
  // group commit may have covered staged events already.)
  const size_t in_rounds = waiting_.size() - std::min(waiting_.size(), gate_.staged());
  const size_t could_stage = connections_.size() - std::min(connections_.size(), in_rounds);
  if (!gate_.ShouldStart(could_stage, RoundSlotFree(), SteadyUs())) return;
  // One request for durability covering everything staged since the last.
  const Position p = last_staged_.last;
  gate_.Started();
  if (options_.request_durable) {
    in_flight_.push_back(last_staged_);
    options_.request_durable(p);
  } else if (waiter_) {
    in_flight_.push_back(last_staged_);
    waiter_->Request(p);
  } else {
    // The loop syncs itself: what it gathered is all it would do meanwhile,
    // and no thread has to be woken to start the round or to report its end.
    ledger_.WaitDurable(p);
    AnswerDurable();
  }
}

bool VerifyServer::RoundSlotFree() {
  // Only rounds that another thread syncs; a failed one is over too.
  while (!in_flight_.empty() && ledger_.Settled(in_flight_.front())) in_flight_.pop_front();
  return in_flight_.size() < std::max<size_t>(1, options_.durable_threads);
}

int64_t VerifyServer::WaitUs() {
  constexpr int64_t kSweepUs = 1'000'000;  // idle connections are swept every second
  if (gate_.staged() == 0) return kSweepUs;
  const int64_t gather = gate_.WaitUs(RoundSlotFree(), SteadyUs());
  return gather < 0 ? kSweepUs : std::min(gather, kSweepUs);
}

void VerifyServer::AnswerDurable() {
  while (!waiting_.empty()) {
    // Durable: answer. A failed write: answer its error, never the decision.
    std::optional<Status> settled = ledger_.Settled(waiting_.front().pending);
    if (!settled) break;
    Waiting w = waiting_.front();
    waiting_.pop_front();
    if (settled->ok()) ledger_.Durable(w.pending);
    auto it = connections_.find(w.connection);
    if (it == connections_.end()) continue;  // the client left; its event stands
    Connection& c = *it->second;
    std::string body = std::move(c.waiting_body);
    if (settled->ok()) {
      Answer(c, 200, "application/json", body);
    } else {
      AnswerError(c, settled->error());
    }
    if (connections_.count(w.connection) && c.state == Connection::State::kReading) {
      ProcessInput(c);  // a pipelined request may be buffered already
    }
  }
}

void VerifyServer::AnswerProblem(Connection& c, int status, std::string_view slug,
                                 std::string_view title, std::string_view detail,
                                 std::string_view field) {
  const Problem p = MakeProblem(status, slug, title, detail, field);
  Answer(c, p.status, "application/problem+json", p.body,
         p.status == 401 ? "WWW-Authenticate: Bearer\r\n" : "");
}

void VerifyServer::AnswerError(Connection& c, const Error& e) {
  const Problem p = ProblemFor(e);
  Answer(c, p.status, "application/problem+json", p.body,
         p.status == 401 ? "WWW-Authenticate: Bearer\r\n" : "");
}

void VerifyServer::Answer(Connection& c, int status, std::string_view content_type,
                          std::string_view body, std::string_view extra_headers) {
  if (!c.keep_alive) c.close_after_write = true;
  std::string& o = c.out;
  o += "HTTP/1.1 ";
  o += std::to_string(status);
  o += ' ';
  o += Reason(status);
  o += "\r\nContent-Type: ";
  o += content_type;
  o += "\r\nContent-Length: ";
  o += std::to_string(body.size());
  o += "\r\nX-Request-Id: ";
  o += c.request_id;
  o += "\r\nX-Content-Type-Options: nosniff\r\n";
  o += extra_headers;
  if (c.close_after_write) {
    o += "Connection: close\r\n";
  } else if (c.http10) {
    o += "Connection: keep-alive\r\n";
  }
  o += "\r\n";
  o += body;

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - c.started).count();
  if (c.matched) {
    metrics_.CountRequest(route_, c.method, status, seconds);
  } else {
    metrics_.CountRequest(c.method, "unmatched", status, seconds);
  }
  AppendRequestLogLine(log_lines_,
                       {c.method, c.path, c.remote, c.request_id,
                        c.matched ? kRoute : std::string_view("unmatched"), status, seconds});
  c.state = Connection::State::kWriting;
  TryWrite(c);
}

void VerifyServer::TryWrite(Connection& c) {
  while (c.out_written < c.out.size()) {
    const ssize_t n =
        ::send(c.fd, c.out.data() + c.out_written, c.out.size() - c.out_written, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        SetInterest(c, c.interest | EPOLLOUT);
        return;
      }
      return Close(c);
    }
    c.out_written += static_cast<size_t>(n);
  }
  c.out.clear();
  c.out_written = 0;
  if (c.close_after_write) return Close(c);
  c.state = Connection::State::kReading;
  SetInterest(c, c.peer_done ? 0u : static_cast<uint32_t>(EPOLLIN));
  c.last_activity_ms = SteadyMs();
}

void VerifyServer::OnWritable(Connection& c) {
  if (c.state != Connection::State::kWriting) return;
  const uint64_t id = c.id;
  TryWrite(c);
  // A pipelined request may be buffered already.
  if (connections_.count(id) && c.state == Connection::State::kReading) ProcessInput(c);
}

void VerifyServer::Close(Connection& c) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  ::close(c.fd);
  connections_.erase(c.id);  // destroys c
}

void VerifyServer::SweepIdle(int64_t now_ms) {
  if (listen_paused_) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenTag;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) == 0) listen_paused_ = false;
  }
  std::vector<uint64_t> idle;
  for (auto& [id, c] : connections_) {
    if (c->state != Connection::State::kWaiting &&
        now_ms - c->last_activity_ms >= options_.idle_timeout_ms) {
      idle.push_back(id);
    }
  }
  for (uint64_t id : idle) Close(*connections_.at(id));
}

void VerifyServer::FlushLogLines() {
  if (log_lines_.empty()) return;
  options_.log_sink(log_lines_);
  log_lines_.clear();
}

}  // namespace tl
