#include "services/http/http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
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
#include <utility>

#include "events/json_log.h"
#include "events/thread_name.h"
#include "services/http/http_common.h"

namespace tl {
namespace {

constexpr uint64_t kListenTag = 0;
constexpr uint64_t kWakeTag = ~0ull;
constexpr uint64_t kStopTag = ~0ull - 1;
constexpr uint64_t kDoneTag = ~0ull - 2;
// Listeners are tagged kListenTag + index (a few), connections from kFirstConnection on.
constexpr uint64_t kFirstConnection = 1024;
// After an answer the request's body was not read for: how long the rest may
// still arrive (and be discarded) before the close, so that the client reads
// the answer instead of a reset.
constexpr int64_t kLingerMs = 2000;
// Refused connections are logged at most this often.
constexpr int64_t kRefusedLogIntervalMs = 10'000;
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
    case 201:
      return "Created";
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
    case 301:
      return "Moved Permanently";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
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

// "Name: value\r\n" lines of an answer's extra headers.
std::string HeaderLines(const HttpFields& headers) {
  std::string out;
  for (const auto& [name, value] : headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  return out;
}

// Whether a request head declares a content coding we would have to decode
// (RFC 9110 8.4): bodies are taken as sent, never decompressed.
bool HasContentCoding(const Http1Request& req) {
  for (const Http1Header& h : req.headers) {
    if (h.name.size() == 16 && strncasecmp(h.name.data(), "content-encoding", 16) == 0 &&
        !(h.value.empty() ||
          (h.value.size() == 8 && strncasecmp(h.value.data(), "identity", 8) == 0))) {
      return true;
    }
  }
  return false;
}

Problem UnsupportedCoding() {
  return MakeProblem(415, "unsupported-media-type", "Unsupported media type",
                     "request bodies are accepted without a Content-Encoding", "Content-Encoding");
}

// The problem for a request the parser refused.
Problem ParseProblem(const Http1Error& error) {
  if (error.status == 413) {
    return MakeProblem(413, "payload-too-large", "Payload too large",
                       "the request body is larger than the server accepts", "body");
  }
  if (error.status == 431) {
    return MakeProblem(431, "header-fields-too-large", "Request header fields too large",
                       error.detail);
  }
  return MakeProblem(error.status, "invalid-http", "Invalid HTTP request", error.detail);
}

}  // namespace

struct HttpServer::Connection {
  enum class State {
    kReading,    // may take its next request
    kWaiting,    // its answer waits for its event to be durable
    kWorking,    // a worker runs its request
    kWriting,    // its answer is (partly) queued in `out`
    kLingering,  // answered and shut for writing; what still arrives is discarded
  };
  ~Connection() {
    if (ssl != nullptr) SSL_free(ssl);
  }
  uint64_t id = 0;
  int fd = -1;
  bool verify_only = false;       // accepted on a verify-only listener
  SSL* ssl = nullptr;             // a TLS connection's engine (owned)
  bool read_wants_write = false;  // the TLS engine must write before it can read on
  std::string remote;
  State state = State::kReading;
  uint32_t interest = 0;  // epoll events registered
  std::string in;         // bytes read, not yet consumed by a request
  std::string out;        // answer bytes not yet written
  size_t out_written = 0;
  bool close_after_write = false;
  bool linger = false;         // close_after_write with a body left unread
  bool continue_sent = false;  // 100 Continue answered the current request's head
  bool head_checked = false;   // the current request's head is complete and was checked
  bool peer_done = false;      // the peer shut its side: answer what was taken, then close
  int64_t last_activity_ms = 0;
  int64_t head_started_ms = 0;  // the first byte of the current request's head; 0: none yet
  int64_t linger_until_ms = 0;
  // The current request, for its answer and log line.
  std::chrono::steady_clock::time_point started;
  std::string method;
  std::string path;
  std::string request_id;
  bool keep_alive = true;
  bool http10 = false;              // an HTTP/1.0 client keeps the connection only when told so
  bool head_method = false;         // HEAD: the answer has no body
  const ApiRoute* route = nullptr;  // nullptr: unmatched
  std::string waiting_body;         // a staged verification's answer
};

HttpServer::HttpServer(HttpApi& api, HttpServerOptions options)
    : api_(api),
      ledger_(api.ledger()),
      metrics_(api.metrics()),
      options_(std::move(options)),
      gate_(options_.gather) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  stop_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  done_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (wake_fd_ < 0 || stop_fd_ < 0 || done_fd_ < 0 || epoll_fd_ < 0) {
    std::fprintf(stderr, "http server: cannot create epoll/eventfd: %s\n", std::strerror(errno));
    std::abort();  // the process cannot serve at all: a broken environment, not input
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  ev.data.u64 = kStopTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &ev);
  ev.data.u64 = kDoneTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, done_fd_, &ev);
  if (!options_.log_sink) {
    options_.log_sink = [](std::string_view lines) {
      std::fwrite(lines.data(), 1, lines.size(), stderr);
    };
  }
  if (!options_.request_durable && options_.durable_threads > 0) {
    waiter_ =
        ledger_.NewDurableWaiter(options_.durable_threads, [this](Position) { WakeForDurable(); });
  }
  next_id_ = kFirstConnection;
}

HttpServer::~HttpServer() {
  {
    MutexLock l(mu_);
    workers_stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  waiter_.reset();  // its threads write wake_fd_
  for (auto& [id, c] : connections_) ::close(c->fd);
  connections_.clear();
  for (const Listener& l : listeners_) {
    if (l.fd >= 0) ::close(l.fd);
  }
  ::close(epoll_fd_);
  ::close(wake_fd_);
  ::close(stop_fd_);
  ::close(done_fd_);
}

void HttpServer::SetTlsContext(TlsContext ctx) {
  MutexLock l(mu_);
  tls_ = std::move(ctx);
}

Result<int> HttpServer::Bind(const std::string& host, int port, bool verify_only, bool tls) {
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
  ev.data.u64 = kListenTag + listeners_.size();
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  if (tls) {
    // OpenSSL writes with write(2), not send(MSG_NOSIGNAL): a peer that left
    // would otherwise end the process with SIGPIPE instead of an EPIPE.
    ::signal(SIGPIPE, SIG_IGN);
  }
  listeners_.push_back({fd, verify_only, tls});
  return bound_port;
}

void HttpServer::Stop() { WakeEventFd(stop_fd_); }

void HttpServer::WakeForDurable() { WakeEventFd(wake_fd_); }

void HttpServer::Run() {
  NameThisThread("tl-http-loop");
  for (size_t i = 0; i < std::max<size_t>(1, options_.workers); ++i) {
    workers_.emplace_back([this] {
      NameThisThread("tl-http-worker");
      WorkerLoop();
    });
  }
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  // Deadlines (head, idle, linger) are looked at this often.
  const int64_t sweep_ms = std::clamp<int64_t>(
      std::min(options_.head_timeout_ms, options_.idle_timeout_ms) / 4, 10, 1000);
  int64_t last_sweep = SteadyMs();
  for (;;) {
    const int n = WaitForEvents(epoll_fd_, events, kMaxEvents, std::min(WaitUs(), sweep_ms * 1000));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag < kFirstConnection) {
        if (tag - kListenTag < listeners_.size()) Accept(listeners_[tag - kListenTag]);
      } else if (tag == kWakeTag) {
        DrainEventFd(wake_fd_);
      } else if (tag == kStopTag) {
        DrainEventFd(stop_fd_);
        BeginDrain();
      } else if (tag == kDoneTag) {
        DrainEventFd(done_fd_);
        AnswerWorkers();
      } else {
        auto it = connections_.find(tag);
        if (it == connections_.end()) continue;  // closed earlier in this batch
        Connection& c = *it->second;
        if (events[i].events & EPOLLOUT) OnWritable(c);
        if (!connections_.count(tag)) continue;
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) OnReadable(c);
      }
    }
    if (!tls_pending_.empty()) {
      std::vector<uint64_t> pending;
      pending.swap(tls_pending_);
      for (uint64_t id : pending) {
        auto it = connections_.find(id);
        if (it != connections_.end() && it->second->state == Connection::State::kReading) {
          OnReadable(*it->second);
        }
      }
    }
    if (!waiting_.empty()) AnswerDurable();
    MaybeRequestDurable();
    const int64_t now = SteadyMs();
    if (now - last_sweep >= sweep_ms) {
      Sweep(now);
      last_sweep = now;
    }
    FlushLogLines();
    if (draining_ && (Drained() || now >= drain_deadline_ms_)) break;
  }
  {
    MutexLock l(mu_);
    workers_stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  LogRefused(SteadyMs() + kRefusedLogIntervalMs);
  FlushLogLines();
}

void HttpServer::BeginDrain() {
  if (draining_) return;
  draining_ = true;
  drain_deadline_ms_ = SteadyMs() + options_.drain_timeout_ms;
  api_.SetStopping();
  for (Listener& l : listeners_) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, l.fd, nullptr);
    ::close(l.fd);
    l.fd = -1;
  }
  // Connections between requests have nothing to answer.
  std::vector<uint64_t> idle;
  for (auto& [id, c] : connections_) {
    if (c->state == Connection::State::kReading && c->in.empty()) idle.push_back(id);
  }
  for (uint64_t id : idle) Close(*connections_.at(id));
}

bool HttpServer::Drained() const {
  if (!waiting_.empty() || jobs_outstanding_ > 0) return false;
  for (const auto& [id, c] : connections_) {
    if (c->state != Connection::State::kReading && c->state != Connection::State::kLingering)
      return false;
    // A request whose head has arrived is answered if its body completes
    // within the drain; a partial head is no request yet.
    if (c->state == Connection::State::kReading && c->head_checked) return false;
  }
  return true;
}

void HttpServer::Accept(Listener& l) {
  for (;;) {
    if (l.fd < 0) return;
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    const int fd =
        ::accept4(l.fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        // Out of descriptors: the pending connection would wake every pass.
        // Stop listening until the next sweep frees some.
        for (const Listener& each : listeners_) {
          if (each.fd >= 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, each.fd, nullptr);
        }
        listen_paused_ = true;
      }
      return;  // EAGAIN: all taken; anything else: try again on the next wake
    }
    if (connections_.size() >= options_.max_connections) {
      Refuse(fd, "total");
      continue;
    }
    std::string remote = PeerAddress(peer);
    size_t& from_there = per_address_[remote];
    if (from_there >= options_.max_connections_per_address) {
      Refuse(fd, "per_address");
      continue;
    }
    const int yes = 1;
    // Small answers otherwise wait on Nagle + delayed ACK.
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    auto c = std::make_unique<Connection>();
    if (l.tls) {
      TlsContext ctx;
      {
        MutexLock lock(mu_);
        ctx = tls_;
      }
      c->ssl = ctx ? SSL_new(ctx.get()) : nullptr;  // the SSL holds a reference to ctx
      if (c->ssl == nullptr || SSL_set_fd(c->ssl, fd) != 1) {
        ERR_clear_error();
        ::close(fd);
        continue;
      }
      SSL_set_accept_state(c->ssl);  // the handshake runs inside the first reads
    }
    c->id = next_id_++;
    c->fd = fd;
    c->verify_only = l.verify_only;
    c->remote = std::move(remote);
    c->last_activity_ms = SteadyMs();
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = c->id;
    c->interest = EPOLLIN;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      if (from_there == 0) per_address_.erase(c->remote);
      continue;
    }
    ++from_there;
    connections_.emplace(c->id, std::move(c));
  }
}

void HttpServer::Refuse(int fd, std::string_view reason) {
  // A reset rather than a FIN: the client learns at once, and no TIME_WAIT
  // is left on this side.
  const linger reset{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  ::close(fd);
  metrics_.CountRefusedConnection(reason);
  ++refused_unlogged_;
  LogRefused(SteadyMs());
}

void HttpServer::LogRefused(int64_t now_ms) {
  if (refused_unlogged_ == 0 || now_ms - refused_logged_ms_ < kRefusedLogIntervalMs) return;
  WriteJsonLogLine("warn",
                   Json{{"msg", "connections refused: over the connection limits"},
                        {"refused", refused_unlogged_},
                        {"max_connections", options_.max_connections},
                        {"max_connections_per_address", options_.max_connections_per_address}});
  refused_unlogged_ = 0;
  refused_logged_ms_ = now_ms;
}

void HttpServer::SetInterest(Connection& c, uint32_t events) {
  if (c.interest == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = c.id;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  c.interest = events;
}

void HttpServer::OnReadable(Connection& c) {
  thread_local char chunk[kReadChunk];
  if (c.state == Connection::State::kLingering) {
    // Discarded: raw bytes will do (the TLS engine is not used again).
    const ssize_t n = ::recv(c.fd, chunk, sizeof chunk, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) Close(c);
    return;  // discarded
  }
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
  const ssize_t n = Receive(c, chunk, sizeof chunk);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    return Close(c);  // the socket (or the TLS session) failed
  }
  if (c.ssl != nullptr && SSL_pending(c.ssl) > 0) tls_pending_.push_back(c.id);
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

void HttpServer::ProcessInput(Connection& c) {
  const uint64_t id = c.id;
  ProcessBuffered(c);
  if (!connections_.count(id)) return;
  // Nothing more will arrive from a peer that is done sending.
  if (c.peer_done && c.state == Connection::State::kReading) return Close(c);
  // Stopping: a connection with nothing more to answer is done.
  if (draining_ && c.state == Connection::State::kReading && c.in.empty()) Close(c);
}

void HttpServer::ProcessBuffered(Connection& c) {
  thread_local Http1Request req;
  Http1Error error;
  const uint64_t id = c.id;  // an answer may close (and free) c
  while (c.state == Connection::State::kReading && !c.in.empty()) {
    if (c.head_started_ms == 0) c.head_started_ms = SteadyMs();
    const Http1Status st = ParseHttp1Request(c.in, options_.limits, &req, &error);
    if (st == Http1Status::kNeedMore) return CheckHead(c);
    c.continue_sent = false;
    c.head_checked = false;
    c.head_started_ms = 0;
    c.started = std::chrono::steady_clock::now();
    if (st == Http1Status::kError) {
      c.method.clear();
      c.path.clear();
      c.request_id = NewRequestId();
      c.route = nullptr;
      c.head_method = false;
      // The stream is out of step: answer, then close.
      return AnswerAndClose(c, ParseProblem(error));
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
    if (c.state == Connection::State::kLingering) return;
    c.in.erase(0, consumed);
  }
}

void HttpServer::CheckHead(Connection& c) {
  if (c.head_checked) return;
  thread_local Http1Request head;
  Http1Error error;
  if (ParseHttp1Head(c.in, options_.limits, &head, &error) != Http1Status::kComplete) return;
  c.head_checked = true;  // the head deadline no longer applies
  c.started = std::chrono::steady_clock::now();
  c.method.assign(head.method);
  c.path.assign(head.path);
  c.keep_alive = false;
  c.http10 = head.minor_version == 0;
  c.head_method = false;
  const std::string_view id = head.Header("X-Request-Id");
  c.request_id = SaneRequestId(id) ? std::string(id) : NewRequestId();
  if (HasContentCoding(head)) {
    c.route = nullptr;
    return AnswerAndClose(c, UnsupportedCoding());
  }
  const ApiRoute* route = nullptr;
  if (c.verify_only) {
    if (head.path == "/v1/verify" && head.method == "POST") route = &api_.verify();
  } else {
    bool path_known = false;
    route = api_.Match(head.method, PercentDecode(head.path, false), &path_known);
  }
  if (route != nullptr && route->needs_bearer) {
    Result<Caller> caller =
        ledger_.Authenticate(BearerCredential(head.Header("Authorization")), c.remote);
    if (!caller.ok()) {
      c.route = route;
      return AnswerAndClose(c, ProblemFor(caller.error()));
    }
  }
  // Not over TLS: an interim answer written there could be cut by a full
  // socket, and the engine would then hold it across the real answer (the
  // client sends its body after a short wait anyway).
  if (c.ssl != nullptr || c.continue_sent ||
      !ExpectsContinue(std::string_view(c.in).substr(0, head.consumed)))
    return;
  // RFC 9110 10.1.1: the client may wait for this before it sends the body
  // (curl does, for a second, when the body is over 1 KiB).
  constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  c.continue_sent = true;
  [[maybe_unused]] ssize_t n = ::send(c.fd, kContinue.data(), kContinue.size(), MSG_NOSIGNAL);
}

void HttpServer::Handle(Connection& c, const Http1Request& req) {
  c.method.assign(req.method);
  c.path.assign(req.path);
  c.keep_alive = req.keep_alive;
  c.http10 = req.minor_version == 0;
  c.head_method = req.method == "HEAD";
  c.route = nullptr;
  std::string_view id = req.Header("X-Request-Id");
  if (SaneRequestId(id)) {
    c.request_id.assign(id);
  } else {
    c.request_id = NewRequestId();
  }
  if (c.verify_only) {
    if (req.path != "/v1/verify") {
      return AnswerProblem(c, 404, "not-found", "Not found",
                           "no such route: this listener serves POST /v1/verify only");
    }
    c.route = &api_.verify();
    if (req.method != "POST") {
      return Answer(
          c, 405, "application/problem+json",
          MakeProblem(405, "method-not-allowed", "Method not allowed", "method not allowed").body,
          "Allow: POST\r\n");
    }
    return HandleVerify(c, req);
  }
  if (HasContentCoding(req)) return AnswerAndClose(c, UnsupportedCoding());
  if (req.path == "/v1/verify" && req.method == "POST") {
    c.route = &api_.verify();
    return HandleVerify(c, req);
  }
  if (req.path == "/healthz" && (req.method == "GET" || c.head_method)) {
    c.route = &api_.healthz();
    return Answer(c, 200, "application/json", R"({"status":"ok"})");
  }
  Dispatch(c, req);
}

void HttpServer::HandleVerify(Connection& c, const Http1Request& req) {
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

void HttpServer::Dispatch(Connection& c, const Http1Request& req) {
  Job job;
  job.connection = c.id;
  ApiRequest& r = job.request;
  r.method.assign(req.method);
  r.path = PercentDecode(req.path, false);
  if (req.target.size() > req.path.size()) {
    r.query = ParseQueryString(req.target.substr(req.path.size() + 1));
  }
  r.headers.reserve(req.headers.size());
  for (const Http1Header& h : req.headers) r.headers.emplace_back(h.name, h.value);
  r.body.assign(req.body);
  r.remote = c.remote;
  c.state = Connection::State::kWorking;
  ++jobs_outstanding_;
  {
    MutexLock l(mu_);
    jobs_.push_back(std::move(job));
  }
  work_cv_.notify_one();
}

void HttpServer::WorkerLoop() {
  for (;;) {
    Job job;
    {
      UniqueLock l(mu_);
      while (!workers_stop_ && jobs_.empty()) work_cv_.wait(l.native());
      if (jobs_.empty()) return;  // stopping, and nothing left
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    ApiAnswer answer = api_.Handle(job.request);
    {
      MutexLock l(mu_);
      done_.push_back({job.connection, std::move(answer)});
    }
    WakeEventFd(done_fd_);
  }
}

void HttpServer::AnswerWorkers() {
  std::deque<Done> done;
  {
    MutexLock l(mu_);
    done.swap(done_);
  }
  for (Done& d : done) {
    --jobs_outstanding_;
    auto it = connections_.find(d.connection);
    if (it == connections_.end()) continue;  // the client left
    Connection& c = *it->second;
    c.route = d.answer.route;
    AnswerApi(c, d.answer);
    if (connections_.count(d.connection) && c.state == Connection::State::kReading) {
      ProcessInput(c);  // a pipelined request may be buffered already
    }
  }
}

void HttpServer::MaybeRequestDurable() {
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

bool HttpServer::RoundSlotFree() {
  // Only rounds that another thread syncs; a failed one is over too.
  while (!in_flight_.empty() && ledger_.Settled(in_flight_.front())) in_flight_.pop_front();
  return in_flight_.size() < std::max<size_t>(1, options_.durable_threads);
}

int64_t HttpServer::WaitUs() {
  constexpr int64_t kSweepUs = 1'000'000;
  if (!tls_pending_.empty()) return 0;
  if (gate_.staged() == 0) return kSweepUs;
  const int64_t gather = gate_.WaitUs(RoundSlotFree(), SteadyUs());
  return gather < 0 ? kSweepUs : std::min(gather, kSweepUs);
}

void HttpServer::AnswerDurable() {
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

void HttpServer::AnswerProblem(Connection& c, int status, std::string_view slug,
                               std::string_view title, std::string_view detail,
                               std::string_view field) {
  const Problem p = MakeProblem(status, slug, title, detail, field);
  Answer(c, p.status, "application/problem+json", p.body,
         p.status == 401 ? "WWW-Authenticate: Bearer\r\n" : "");
}

void HttpServer::AnswerAndClose(Connection& c, const Problem& p) {
  c.keep_alive = false;
  c.linger = true;
  c.in.clear();
  Answer(c, p.status, "application/problem+json", p.body,
         p.status == 401 ? "WWW-Authenticate: Bearer\r\n" : "");
}

void HttpServer::AnswerError(Connection& c, const Error& e) {
  const Problem p = ProblemFor(e);
  Answer(c, p.status, "application/problem+json", p.body,
         p.status == 401 ? "WWW-Authenticate: Bearer\r\n" : "");
}

void HttpServer::AnswerApi(Connection& c, const ApiAnswer& a) {
  Answer(c, a.status, a.content_type, a.body, HeaderLines(a.headers));
}

void HttpServer::Answer(Connection& c, int status, std::string_view content_type,
                        std::string_view body, std::string_view extra_headers) {
  if (!c.keep_alive) c.close_after_write = true;
  std::string& o = c.out;
  o += "HTTP/1.1 ";
  o += std::to_string(status);
  o += ' ';
  o += Reason(status);
  if (!content_type.empty()) {
    o += "\r\nContent-Type: ";
    o += content_type;
  }
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
  if (!c.head_method) o += body;

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - c.started).count();
  if (c.route != nullptr) {
    metrics_.CountRequest(c.route->metrics_id, c.method, status, seconds);
  } else {
    metrics_.CountRequest(c.method, "unmatched", status, seconds);
  }
  AppendRequestLogLine(log_lines_, {c.method, c.path, c.remote, c.request_id,
                                    c.route != nullptr ? std::string_view(c.route->name)
                                                       : std::string_view("unmatched"),
                                    status, seconds});
  c.state = Connection::State::kWriting;
  TryWrite(c);
}

void HttpServer::TryWrite(Connection& c) {
  while (c.out_written < c.out.size()) {
    const ssize_t n = Transmit(c, c.out.data() + c.out_written, c.out.size() - c.out_written);
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
  if (c.close_after_write) {
    if (!c.linger || c.peer_done) return Close(c);
    // What the client still sends (the body we did not read) would make the
    // kernel answer with a reset, which may destroy our answer before the
    // client reads it: shut our side, discard the rest for a while, then close.
    ::shutdown(c.fd, SHUT_WR);
    c.state = Connection::State::kLingering;
    c.linger_until_ms = SteadyMs() + kLingerMs;
    SetInterest(c, EPOLLIN);
    return;
  }
  c.state = Connection::State::kReading;
  SetInterest(c, c.peer_done ? 0u : static_cast<uint32_t>(EPOLLIN));
  c.last_activity_ms = SteadyMs();
  if (c.ssl != nullptr && SSL_pending(c.ssl) > 0) tls_pending_.push_back(c.id);
}

ssize_t HttpServer::Receive(Connection& c, char* buf, size_t size) {
  if (c.ssl == nullptr) return ::recv(c.fd, buf, size, 0);
  ERR_clear_error();
  errno = 0;
  const int n = SSL_read(c.ssl, buf, static_cast<int>(size));
  if (n > 0) return n;
  switch (SSL_get_error(c.ssl, n)) {
    case SSL_ERROR_WANT_READ:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_WANT_WRITE:  // a handshake message to send first
      c.read_wants_write = true;
      SetInterest(c, c.interest | EPOLLOUT);
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:  // close_notify
      return 0;
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0 && errno == 0) return 0;  // EOF without close_notify
      [[fallthrough]];
    default:
      ERR_clear_error();
      errno = EPROTO;  // not TLS, a failed handshake, a bad record
      return -1;
  }
}

ssize_t HttpServer::Transmit(Connection& c, const char* buf, size_t size) {
  if (c.ssl == nullptr) return ::send(c.fd, buf, size, MSG_NOSIGNAL);
  ERR_clear_error();
  const int n = SSL_write(c.ssl, buf, static_cast<int>(std::min<size_t>(size, 1 << 30)));
  if (n > 0) return n;
  switch (SSL_get_error(c.ssl, n)) {
    case SSL_ERROR_WANT_WRITE:
    case SSL_ERROR_WANT_READ:
      errno = EAGAIN;
      return -1;
    default:
      ERR_clear_error();
      errno = EPROTO;
      return -1;
  }
}

void HttpServer::OnWritable(Connection& c) {
  if (c.read_wants_write) {
    c.read_wants_write = false;
    if (c.state != Connection::State::kWriting) {
      SetInterest(c, c.interest & ~static_cast<uint32_t>(EPOLLOUT));
      return OnReadable(c);
    }
  }
  if (c.state != Connection::State::kWriting) return;
  const uint64_t id = c.id;
  TryWrite(c);
  // A pipelined request may be buffered already.
  if (connections_.count(id) && c.state == Connection::State::kReading) ProcessInput(c);
}

void HttpServer::Close(Connection& c) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  ::close(c.fd);
  auto it = per_address_.find(c.remote);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
  connections_.erase(c.id);  // destroys c
}

void HttpServer::Sweep(int64_t now_ms) {
  if (listen_paused_) {
    listen_paused_ = false;
    for (size_t i = 0; i < listeners_.size(); ++i) {
      if (listeners_[i].fd < 0) continue;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = kListenTag + i;
      if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listeners_[i].fd, &ev) != 0) listen_paused_ = true;
    }
  }
  LogRefused(now_ms);
  std::vector<uint64_t> idle, slow;
  for (auto& [id, c] : connections_) {
    switch (c->state) {
      case Connection::State::kReading:
        if (c->head_started_ms != 0 && !c->head_checked &&
            now_ms - c->head_started_ms >= options_.head_timeout_ms) {
          slow.push_back(id);
        } else if (now_ms - c->last_activity_ms >= options_.idle_timeout_ms) {
          idle.push_back(id);
        }
        break;
      case Connection::State::kLingering:
        if (now_ms >= c->linger_until_ms) idle.push_back(id);
        break;
      case Connection::State::kWriting:
        // A client that reads nothing does not hold its answer forever.
        if (now_ms - c->last_activity_ms >= options_.idle_timeout_ms) idle.push_back(id);
        break;
      case Connection::State::kWaiting:
      case Connection::State::kWorking:
        break;
    }
  }
  for (uint64_t id : idle) Close(*connections_.at(id));
  for (uint64_t id : slow) {
    Connection& c = *connections_.at(id);
    c.started = std::chrono::steady_clock::now();
    c.method.clear();
    c.path.clear();
    c.route = nullptr;
    c.head_method = false;
    c.request_id = NewRequestId();
    AnswerAndClose(c, MakeProblem(408, "request-timeout", "Request timeout",
                                  "the request head did not arrive in time"));
  }
}

void HttpServer::FlushLogLines() {
  if (log_lines_.empty()) return;
  options_.log_sink(log_lines_);
  log_lines_.clear();
}

}  // namespace tl
