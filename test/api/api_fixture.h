// An in-process dbos-drain API for tests: HandleRequest (serve/api.h) over a real ReportCache,
// real ServiceMetrics and a real Logger, with the cache's reader returning Snapshots the test
// builds (or throwing the DrainError it sets). No sockets and no database: the handler is the
// unit under test; the database side is pinned by db_tests and the service tests.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api.h"

namespace dbos_drain::api_test {

inline constexpr int64_t kNow = 1795677703560;  // the database's now() in every snapshot

// v1 (old, 2 PENDING + 1 ENQUEUED on queue "tasks"), v2 (latest, idle), queue "tasks" with
// worker_concurrency 2, on the newest schema shape.
inline Snapshot SampleSnapshot() {
  Snapshot s;
  s.shape.schema = "dbos";
  s.shape.database = "appdb";
  s.shape.has_application_versions = true;
  s.shape.has_queues = true;
  s.shape.has_application_name = true;
  s.shape.has_delay_until = true;
  s.shape.queues_have_worker_concurrency = true;
  s.as_of_ms = kNow;
  s.window_ms = 120'000;  // the default --quiet-period, as SystemDatabase reads it
  s.registered = {{"v1", kNow - 7'200'000, kNow - 7'200'000}, {"v2", kNow - 3'600'000, kNow - 3'600'000}};
  s.queues = {{"tasks", std::nullopt, 2}};
  InFlightGroup pending;
  pending.version = "v1";
  pending.executor = "worker-1";
  pending.status = InFlightStatus::kPending;
  pending.count = 2;
  pending.oldest_created_at_ms = kNow - 90'000;
  InFlightGroup queued = pending;
  queued.queue = "tasks";
  queued.status = InFlightStatus::kEnqueued;
  queued.count = 1;
  s.groups = {pending, queued};
  return s;
}

// The same, with v1's work finished long ago: v1 (old, nothing in flight, no start within the quiet
// period) is safe to retire; v2 is the latest, which never is.
inline Snapshot RetirableSnapshot() {
  Snapshot s = SampleSnapshot();
  s.groups.clear();
  return s;
}

class Api {
 public:
  struct Config {
    std::chrono::milliseconds refresh{std::chrono::hours(1)};  // one read serves the whole test
    std::chrono::milliseconds max_staleness{std::chrono::hours(2)};
    std::optional<std::string> application;
    std::function<bool(const std::string&)> authorize;
    std::optional<Snapshot> snapshot;  // what reads return; SampleSnapshot() when unset
  };

  Api() : Api(Config()) {}
  explicit Api(Config config) : log_(Logger::Format::kJson, LogLevel::kError) {
    if (config.snapshot) snapshot_ = *config.snapshot;
    ReportCache::Options o;
    o.refresh = config.refresh;
    o.max_staleness = config.max_staleness;
    o.wait_timeout = std::chrono::seconds(5);
    cache_ = std::make_unique<ReportCache>(
        [this](const std::vector<std::string>& probe) {
          std::lock_guard<std::mutex> lock(mu_);
          probes_.push_back(probe);
          if (error_) throw *error_;
          return snapshot_;
        },
        nullptr, PolicyOptions{}, o);
    ctx_ = std::make_unique<ApiContext>(
        ApiContext{*cache_, PolicyOptions{}, config.application, metrics_, log_, "0.0.0-test", config.authorize});
  }

  // What the next reads return.
  void SetSnapshot(Snapshot s) {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot_ = std::move(s);
    error_.reset();
  }
  void SetError(DrainError e) {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = std::move(e);
  }
  std::vector<std::vector<std::string>> probes() {
    std::lock_guard<std::mutex> lock(mu_);
    return probes_;
  }

  HttpResponse Call(const std::string& method, const std::string& target, const std::string& body = "",
                    const std::string& content_type = "", const std::string& authorization = "",
                    bool body_too_large = false) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.content_type = content_type;
    r.authorization = authorization;
    r.body_too_large = body_too_large;
    return HandleRequest(*ctx_, r);
  }
  HttpResponse Get(const std::string& target) { return Call("GET", target); }
  HttpResponse Flagger(const std::string& body, const std::string& content_type = "application/json") {
    return Call("POST", "/v1/flagger/confirm-promotion", body, content_type);
  }

  ReportCache& cache() { return *cache_; }
  ServiceMetrics& metrics() { return metrics_; }
  ApiContext& ctx() { return *ctx_; }

 private:
  std::mutex mu_;
  Snapshot snapshot_ = SampleSnapshot();
  std::optional<DrainError> error_;
  std::vector<std::vector<std::string>> probes_;
  ServiceMetrics metrics_;
  Logger log_;
  std::unique_ptr<ReportCache> cache_;
  std::unique_ptr<ApiContext> ctx_;
};

// The value of header `name` in `r`, "" when absent.
inline std::string Header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

}  // namespace dbos_drain::api_test
