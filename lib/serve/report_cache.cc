// The executor of serve/report_cache.h: state under one mutex, decisions from
// core/refresh_plan.h and core/watched_versions.h, the reader and the encoding outside the lock.
#include "report_cache.h"

#include "report_json.h"

namespace dbos_drain {

namespace {

int64_t SteadyNs(SteadyTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

ReportCache::ReportCache(Reader reader, Aborter aborter, PolicyOptions policy, Options options, Observer observer)
    : reader_(std::move(reader)),
      aborter_(std::move(aborter)),
      policy_(policy),
      options_(options),
      observer_(std::move(observer)),
      watched_(options.max_watched_versions, options.probe_interval) {
  refresher_ = std::thread([this] { RefreshLoop(); });
  // The watchdog aborts a read that hangs (a frozen server ignores statement_timeout).
  watchdog_ = std::thread([this] { Watchdog(); });
}

ReportCache::~ReportCache() {
  Shutdown();
  // A read may be stuck in the database (a lock, a frozen server). Abort it, and again until the
  // refresher is out: an abort that lands while the reader is still connecting finds no socket
  // to shut down, and the read would then run to its statement timeout.
  {
    std::unique_lock<std::mutex> lock(mu_);
    do {
      lock.unlock();
      if (aborter_) aborter_();
      lock.lock();
    } while (!refreshed_.wait_for(lock, std::chrono::milliseconds(50), [&] { return !refreshing_; }));
  }
  refresher_.join();
  watchdog_.join();
}

void ReportCache::Watchdog() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    refreshed_.wait_for(lock, std::chrono::milliseconds(200));
    const auto now = Clock::now();
    if (aborter_ && ShouldAbortRead(options_, reading_, abort_since_, now)) {
      abort_since_ = now;  // abort once per abort_after
      lock.unlock();
      aborter_();
      lock.lock();
    }
  }
}

CacheState ReportCache::State() const {
  CacheState s;
  s.report = window_;
  s.reading = refreshing_;
  s.failed = last_error_.has_value();
  s.next_attempt = next_attempt_;
  s.stopping = stopping_;
  return s;
}

std::shared_ptr<const CachedReport> ReportCache::Peek() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (Usable(State(), Clock::now())) return current_;
  return nullptr;
}

uint64_t ReportCache::refresh_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return refresh_count_;
}

bool ReportCache::ever_succeeded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ever_succeeded_;
}

std::optional<DrainError> ReportCache::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

bool ReportCache::IsFresh() const {
  return SteadyNs(Clock::now()) < fresh_until_ns_.load(std::memory_order_acquire);
}

namespace {
thread_local bool t_no_wait = false;  // inside a ReportCache::NoWaitScope
}  // namespace

ReportCache::NoWaitScope::NoWaitScope() : outer_(t_no_wait) { t_no_wait = true; }
ReportCache::NoWaitScope::~NoWaitScope() { t_no_wait = outer_; }

ReportCache::Result ReportCache::Get(const std::string& version) {
  std::unique_lock<std::mutex> lock(mu_);
  auto now = Clock::now();
  // Watch a version the report does not show (bounded); keep watched ones alive while asked.
  if (!version.empty() && current_) watched_.Asked(version, current_->version_json.count(version) > 0, now);

  switch (PlanGet(State(), now)) {
    case GetAction::kServe:
    case GetAction::kBackOff:
      return {current_, std::nullopt};
    case GetAction::kFail:
      return {nullptr, last_error_};
    case GetAction::kRefresh:
      refresh_requested_ = true;
      wake_refresher_.notify_one();
      break;
    case GetAction::kJoin:
      break;
  }
  if (t_no_wait) {
    if (Usable(State(), now)) return {current_, std::nullopt};
    if (last_error_) return {nullptr, last_error_};
    return {nullptr, DrainError(ErrorCode::kDatabaseUnavailable, "no report could be read yet")};
  }
  const uint64_t seen = generation_;
  const bool done = refreshed_.wait_for(lock, options_.wait_timeout, [&] { return generation_ != seen || stopping_; });
  switch (PlanAfterWait(State(), Clock::now(), generation_ != seen, !done)) {
    case WaitAnswer::kReport:
      return {current_, std::nullopt};
    case WaitAnswer::kTimeout:
      return {nullptr, DrainError(ErrorCode::kQueryTimeout,
                                  "the database did not answer within " + std::to_string(options_.wait_timeout.count()) +
                                      " ms and the last report is older than the staleness bound")};
    case WaitAnswer::kShuttingDown:
      return {nullptr, DrainError(ErrorCode::kDatabaseUnavailable,
                                  "dbos-drain is shutting down and the database read in progress did not finish")};
    case WaitAnswer::kLastError:
      return {nullptr, last_error_};
    case WaitAnswer::kNoReport:
      break;
  }
  return {nullptr, DrainError(ErrorCode::kDatabaseUnavailable, "no report could be read")};
}

std::chrono::nanoseconds ReportCache::read_time_total() const {
  std::lock_guard<std::mutex> lock(mu_);
  return read_time_total_;
}

void ReportCache::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_refresher_.notify_all();
  refreshed_.notify_all();
}

const std::string& CachedReport::AllVersionsJson() const {
  std::call_once(all_versions_once_, [this] { all_versions_json_ = DumpJson(ReportToJson(report, Listing::kAll)); });
  return all_versions_json_;
}

std::shared_ptr<CachedReport> ReportCache::Encode(Snapshot snapshot, const ReportWindow& window,
                                                  std::chrono::milliseconds took) const {
  auto cached = std::make_shared<CachedReport>();
  cached->report = BuildReport(snapshot, policy_);
  cached->fetched_at = window.fetched_at;
  cached->query_duration = took;
  cached->refresh_interval = std::chrono::duration_cast<std::chrono::milliseconds>(window.fresh_until - window.fetched_at);
  cached->staleness_bound = std::chrono::duration_cast<std::chrono::milliseconds>(window.usable_until - window.fetched_at);
  std::string as_of = FormatTimestamp(cached->report.as_of_ms);
  cached->report_json = DumpJson(ReportToJson(cached->report, Listing::kDefault));
  for (const auto& v : cached->report.versions) {
    auto doc = VersionToJson(v, cached->report.as_of_ms);
    doc["as_of"] = as_of;
    cached->version_json[v.version] = DumpJson(doc);
  }
  return cached;
}

void ReportCache::RefreshLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_refresher_.wait(lock, [&] { return refresh_requested_ || stopping_; });
    if (stopping_) return;
    refresh_requested_ = false;
    refreshing_ = true;
    reading_ = true;
    ReadOutcome read;
    read.started = abort_since_ = Clock::now();
    ++refresh_count_;
    const auto probe = watched_.DueForProbe(read.started);
    lock.unlock();

    std::optional<DrainError> error;
    Snapshot snapshot;
    try {
      snapshot = reader_(probe);
    } catch (const DrainError& e) {
      error = e;
    } catch (const std::exception& e) {
      error = DrainError(ErrorCode::kQueryFailed, e.what());
    }
    read.ended = Clock::now();
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(read.ended - read.started);

    std::shared_ptr<CachedReport> fresh;
    lock.lock();
    reading_ = false;
    read_time_total_ += read.ended - read.started;
    if (!error) {
      watched_.RecordProbes(snapshot, read.ended);
      // Versions found in history by an earlier probe (within probe_interval) stay known until re-probed.
      watched_.AddFoundTo(snapshot);
      lock.unlock();
      // Build and encode without the lock: callers keep getting the current report meanwhile.
      try {
        fresh = Encode(std::move(snapshot), WindowAfterRead(options_, read.started, read.ended), took);
      } catch (const std::exception& e) {
        error = DrainError(ErrorCode::kQueryFailed, std::string("cannot encode the report: ") + e.what());
      }
      lock.lock();
    }
    if (error) read.error = error->code();
    const ReadPlan plan = PlanAfterRead(options_, backoff_, read);
    backoff_ = plan.backoff;
    next_attempt_ = plan.next_attempt;
    if (fresh) {
      current_ = fresh;
      window_ = plan.window;
      fresh_until_ns_.store(SteadyNs(plan.window->fresh_until), std::memory_order_release);
      ever_succeeded_ = true;
      last_error_.reset();
    } else {
      last_error_ = error;
      // A history probe scans workflow_status (no index covers application_version), so on a
      // large table it can be what exceeds the query timeout. Retrying it on every refresh would
      // fail every refresh and turn every answer into 503 (bench/diagnose.sh: one GET for an
      // unknown version on 10M rows). Wait probe_interval before probing these again; until then
      // they stay as they were (unknown: not drained).
      if (plan.defer_probes) watched_.DeferProbes(probe, read.ended);
      // The database the reader reconnects to may not be the one that was probed: restored from
      // a backup, failed over, its schema recreated. Forget what probes found in its history, so
      // the next successful read probes again and no memory outlives the database it came from.
      if (plan.forget_probe_results) watched_.ForgetProbeResults();
    }
    // Tell the observer (metrics, logs) before the waiting callers: a request answered by this
    // read then sees it counted (a /metrics scrape after a failed read shows the error).
    if (observer_) {
      lock.unlock();
      observer_(fresh.get(), error ? &*error : nullptr);
      lock.lock();
    }
    refreshing_ = false;
    ++generation_;
    refreshed_.notify_all();
  }
}

}  // namespace dbos_drain
