#include "services/http/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "services/core/ledger.h"
#include "services/domain/decider.h"

namespace tl {
namespace {

// The verification codes counted without a lock, in kKnownCodes slots.
constexpr std::array<std::string_view, 9> kCodes = {
    kCodeNotFound,         kCodeRevoked,       kCodeExpired,
    kCodeOriginNotAllowed, kCodeIpNotAllowed,  kCodeForbidden,
    kCodeRateLimited,      kCodeUsageExceeded, kCodeValid};

std::string Labels(std::string_view method, std::string_view route, int status) {
  return "method=\"" + std::string(method) + "\",route=\"" + std::string(route) + "\",status=\"" +
         std::to_string(status) + "\"";
}

// A double as Prometheus reads it.
std::string Number(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

// Descriptors open in this process (entries of /proc/self/fd, less the one
// the listing itself holds).
size_t OpenDescriptors() {
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return 0;
  size_t n = 0;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n > 0 ? n - 1 : 0;
}

}  // namespace

std::string_view BuildVersion() { return TL_VERSION; }

std::string MetricFamily(std::string_view name, std::string_view help, std::string_view type,
                         std::string_view value) {
  std::string out;
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  out.append(name).append(" ").append(value).append("\n");
  return out;
}

std::string ProcessMetrics() {
  // /proc/self/stat: fields after the command name (which may hold spaces) are
  // space-separated; utime and stime are fields 14 and 15, starttime 22,
  // vsize 23 and rss 24 (proc(5)).
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  std::vector<std::string> fields;
  if (size_t close = stat.rfind(')'); close != std::string::npos) {
    std::istringstream rest(stat.substr(close + 2));
    for (std::string f; rest >> f;) fields.push_back(f);
  }
  auto field = [&](size_t n) -> double {  // n: the field's number in proc(5)
    return n >= 3 && n - 3 < fields.size() ? std::strtod(fields[n - 3].c_str(), nullptr) : 0;
  };
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  double boot_time = 0;
  std::ifstream proc_stat("/proc/stat");
  for (std::string line; std::getline(proc_stat, line);) {
    if (line.rfind("btime ", 0) == 0) boot_time = std::strtod(line.c_str() + 6, nullptr);
  }
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);

  std::string out;
  out += MetricFamily("process_cpu_seconds_total", "User and system CPU time spent in seconds.",
                      "counter", Number((field(14) + field(15)) / ticks));
  out += MetricFamily("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge",
                      Number(field(24) * page));
  out += MetricFamily("process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge",
                      Number(field(23)));
  out += MetricFamily("process_open_fds", "Number of open file descriptors.", "gauge",
                      std::to_string(OpenDescriptors()));
  out += MetricFamily("process_max_fds", "Maximum number of open file descriptors.", "gauge",
                      Number(static_cast<double>(files.rlim_cur)));
  out += MetricFamily("process_start_time_seconds",
                      "Start time of the process since the Unix epoch in seconds.", "gauge",
                      Number(boot_time + field(22) / ticks));
  out += "# HELP tokenledger_build_info The version of this binary (always 1).\n";
  out += "# TYPE tokenledger_build_info gauge\n";
  out += "tokenledger_build_info{version=\"" + std::string(BuildVersion()) + "\"} 1\n";
  return out;
}

std::string LedgerMetrics(const Ledger& ledger) {
  const EventLog& log = ledger.log();
  const LogCounters c = log.Counters();
  std::string out;
  out += MetricFamily("tokenledger_log_last_position", "Position of the newest durable event.",
                      "gauge", std::to_string(log.DurablePosition().value()));
  out += MetricFamily("tokenledger_log_events_appended_total",
                      "Events appended to the log by this process.", "counter",
                      std::to_string(c.events));
  out += MetricFamily("tokenledger_log_fsyncs_total",
                      "Group-commit write+fdatasync rounds of this process.", "counter",
                      std::to_string(c.fsyncs));
  out +=
      "# HELP tokenledger_log_append_duration_seconds From staging a command's events to their "
      "being durable.\n";
  out += "# TYPE tokenledger_log_append_duration_seconds histogram\n";
  out += ledger.AppendLatency().Render("tokenledger_log_append_duration_seconds");
  out +=
      "# HELP tokenledger_log_fsync_duration_seconds Time of one group-commit write+fdatasync.\n";
  out += "# TYPE tokenledger_log_fsync_duration_seconds histogram\n";
  out += log.FsyncLatency().Render("tokenledger_log_fsync_duration_seconds");
  out += MetricFamily("tokenledger_storage_errors_total",
                      "Group-commit rounds whose write or sync failed, plus writes refused while "
                      "the event log could not be written.",
                      "counter", std::to_string(ledger.StorageErrors()));
  out += ProcessMetrics();
  return out;
}

std::string_view MetricMethod(std::string_view method) {
  static constexpr std::string_view kMethods[] = {"GET",    "HEAD",    "POST",    "PUT",  "PATCH",
                                                  "DELETE", "OPTIONS", "CONNECT", "TRACE"};
  for (std::string_view m : kMethods) {
    if (m == method) return m;
  }
  return "OTHER";
}

Metrics::RouteId Metrics::AddRoute(std::string_view method, std::string_view route) {
  Route& r = routes_.emplace_back();
  r.method = method;
  r.route = route;
  return routes_.size() - 1;
}

void Metrics::CountRequest(RouteId route, std::string_view method, int status, double seconds) {
  Route& r = routes_[route];
  if (method != r.method || status < kMinStatus || status > kMaxStatus)
    return CountRequest(method, r.route, status, seconds);
  latency_.Observe(seconds);
  r.by_status[status - kMinStatus].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::CountRequest(std::string_view method, std::string_view route, int status,
                           double seconds) {
  std::string key = Labels(MetricMethod(method), route, status);
  latency_.Observe(seconds);
  MutexLock l(mu_);
  ++requests_[key];
}

void Metrics::CountVerification(std::string_view code) {
  static_assert(kCodes.size() == kKnownCodes);
  for (size_t i = 0; i < kCodes.size(); ++i) {
    if (kCodes[i] == code) {
      known_codes_[i].fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  MutexLock l(mu_);
  ++verifications_[std::string(code)];
}

void Metrics::CountRefusedConnection(std::string_view reason) {
  (reason == "total" ? refused_total_ : refused_per_address_)
      .fetch_add(1, std::memory_order_relaxed);
}

std::string Metrics::Render(std::string_view extra) const {
  // One sorted view of both kinds of counters, as they were always rendered.
  std::map<std::string, uint64_t> requests;
  std::map<std::string, uint64_t> verifications;
  {
    MutexLock l(mu_);
    requests = requests_;
    verifications = verifications_;
  }
  for (const Route& r : routes_) {
    for (size_t i = 0; i < r.by_status.size(); ++i) {
      if (uint64_t n = r.by_status[i].load(std::memory_order_relaxed); n > 0)
        requests[Labels(r.method, r.route, kMinStatus + static_cast<int>(i))] += n;
    }
  }
  for (size_t i = 0; i < kCodes.size(); ++i) {
    if (uint64_t n = known_codes_[i].load(std::memory_order_relaxed); n > 0)
      verifications[std::string(kCodes[i])] += n;
  }
  std::string out;
  out += "# HELP tokenledger_http_requests_total HTTP requests by route and status.\n";
  out += "# TYPE tokenledger_http_requests_total counter\n";
  for (const auto& [labels, n] : requests) {
    out += "tokenledger_http_requests_total{" + labels + "} " + std::to_string(n) + "\n";
  }
  out += "# HELP tokenledger_verifications_total Verifications by result code.\n";
  out += "# TYPE tokenledger_verifications_total counter\n";
  for (const auto& [code, n] : verifications) {
    out += "tokenledger_verifications_total{code=\"" + code + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP tokenledger_http_request_duration_seconds Time spent handling a request.\n";
  out += "# TYPE tokenledger_http_request_duration_seconds histogram\n";
  out += latency_.Render("tokenledger_http_request_duration_seconds");
  out +=
      "# HELP tokenledger_http_connections_refused_total Connections closed at accept, over the "
      "total or the per-address connection limit.\n";
  out += "# TYPE tokenledger_http_connections_refused_total counter\n";
  out += "tokenledger_http_connections_refused_total{reason=\"per_address\"} " +
         std::to_string(refused_per_address_.load(std::memory_order_relaxed)) + "\n";
  out += "tokenledger_http_connections_refused_total{reason=\"total\"} " +
         std::to_string(refused_total_.load(std::memory_order_relaxed)) + "\n";
  out += extra;
  return out;
}

}  // namespace tl
