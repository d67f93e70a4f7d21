#include "report_cache.h"

#include <algorithm>

#include "report_json.h"

namespace dbos_drain {

namespace {
constexpr std::chrono::milliseconds kMinBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{1000};
constexpr auto kWatchExpiry = std::chrono::minutes(10);
}  // namespace

ReportCache::ReportCache(Reader reader, Aborter aborter, PolicyOptions policy, Options options, Observer observer)
    : reader_(std::move(reader)),
      aborter_(std::move(aborter)),
      policy_(policy),
      options_(options),
      observer_(std::move(observer)) {
  refresher_ = std::thread([this] { RefreshLoop(); });
  // The watchdog aborts a read that hangs (a frozen server ignores statement_timeout).
  watchdog_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      refreshed_.wait_for(lock, std::chrono::milliseconds(200));
      if (refreshing_ && Clock::now() - refresh_started_ > options_.abort_after && aborter_) {
        refresh_started_ = Clock::now();  // abort once per abort_after
        lock.unlock();
        aborter_();
        lock.lock();
      }
    }
  });
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

bool ReportCache::Fresh(const CachedReport& r, Clock::time_point now) const {
  return now - r.fetched_at < options_.refresh;
}

std::shared_ptr<const CachedReport> ReportCache::Peek() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (current_ && Clock::now() - current_->fetched_at < options_.max_staleness) return current_;
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

namespace {
int64_t SteadyNs(ReportCache::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
}  // namespace

bool ReportCache::IsFresh() const {
  return SteadyNs(Clock::now()) < fresh_until_ns_.load(std::memory_order_acquire);
}

ReportCache::Result ReportCache::Get(const std::string& version) {
  std::unique_lock<std::mutex> lock(mu_);
  auto now = Clock::now();
  if (!version.empty() && current_) {
    // Watch a version the report does not show (bounded); keep watched ones alive while asked.
    auto it = watched_.find(version);
    if (it != watched_.end()) {
      it->second.last_asked = now;
    } else if (!current_->version_json.count(version) && watched_.size() < options_.max_watched_versions) {
      watched_[version].last_asked = now;
    }
  }
  if (current_ && Fresh(*current_, now)) return {current_, std::nullopt};

  // Stale (or nothing yet): join the refresh in flight, or start one unless backing off after
  // a failure. If no fresh report results, a report within max_staleness is still served;
  // past that bound the caller gets the error.
  auto within_bound = [&](Clock::time_point t) {
    return current_ && t - current_->fetched_at < options_.max_staleness;
  };
  if (!refreshing_ && now < next_attempt_ && last_error_) {
    if (within_bound(now)) return {current_, std::nullopt};
    return {nullptr, last_error_};
  }
  if (!refreshing_) {
    refresh_requested_ = true;
    wake_refresher_.notify_one();
  }
  const uint64_t seen = generation_;
  bool done = refreshed_.wait_for(lock, options_.wait_timeout, [&] { return generation_ != seen || stopping_; });
  now = Clock::now();
  if (current_ && Fresh(*current_, now)) return {current_, std::nullopt};
  if (within_bound(now)) return {current_, std::nullopt};
  if (!done) {
    return {nullptr, DrainError(ErrorCode::kQueryTimeout,
                                "the database did not answer within " + std::to_string(options_.wait_timeout.count()) +
                                    " ms and the last report is older than the staleness bound")};
  }
  if (stopping_ && generation_ == seen) {
    return {nullptr, DrainError(ErrorCode::kDatabaseUnavailable,
                                "dbos-drain is shutting down and the database read in progress did not finish")};
  }
  if (last_error_) return {nullptr, last_error_};
  return {nullptr, DrainError(ErrorCode::kDatabaseUnavailable, "no report could be read")};
}

void ReportCache::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_refresher_.notify_all();
  refreshed_.notify_all();
}

std::vector<std::string> ReportCache::ProbeList(Clock::time_point now) {
  std::vector<std::string> out;
  for (auto it = watched_.begin(); it != watched_.end();) {
    if (now - it->second.last_asked > kWatchExpiry) {
      it = watched_.erase(it);
      continue;
    }
    if (!it->second.last_probed || now - *it->second.last_probed >= options_.probe_interval) out.push_back(it->first);
    ++it;
  }
  return out;
}

std::shared_ptr<CachedReport> ReportCache::Encode(Snapshot snapshot, std::chrono::milliseconds took, Clock::time_point now) {
  // Versions found in history by an earlier probe (within probe_interval) stay known until re-probed.
  for (const auto& [name, w] : watched_) {
    if (w.found && !snapshot.versions_probed.count(name)) snapshot.versions_with_history.insert(name);
  }
  auto cached = std::make_shared<CachedReport>();
  cached->report = BuildReport(snapshot, policy_);
  cached->fetched_at = now;
  cached->query_duration = took;
  std::string as_of = FormatTimestamp(cached->report.as_of_ms);
  cached->report_json = DumpJson(ReportToJson(cached->report));
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
    refresh_started_ = Clock::now();
    ++refresh_count_;
    auto probe = ProbeList(refresh_started_);
    lock.unlock();

    std::shared_ptr<CachedReport> fresh;
    std::optional<DrainError> error;
    auto start = Clock::now();
    Snapshot snapshot;
    try {
      snapshot = reader_(probe);
    } catch (const DrainError& e) {
      error = e;
    } catch (const std::exception& e) {
      error = DrainError(ErrorCode::kQueryFailed, e.what());
    }
    auto end = Clock::now();

    lock.lock();
    if (!error) {
      for (const auto& name : snapshot.versions_probed) {
        auto it = watched_.find(name);
        if (it == watched_.end()) continue;
        it->second.last_probed = end;
        it->second.found = snapshot.versions_with_history.count(name) > 0;
      }
      try {
        fresh = Encode(std::move(snapshot), std::chrono::duration_cast<std::chrono::milliseconds>(end - start), end);
      } catch (const std::exception& e) {
        error = DrainError(ErrorCode::kQueryFailed, std::string("cannot encode the report: ") + e.what());
      }
    } else if (error->code() == ErrorCode::kQueryTimeout) {
      // A history probe scans workflow_status (no index covers application_version), so on a
      // large table it can be what exceeds the query timeout. Retrying it on every refresh would
      // fail every refresh and turn every answer into 503 (bench/diagnose.sh: one GET for an
      // unknown version on 10M rows). Wait probe_interval before probing these again; until then
      // they stay as they were (unknown: not drained).
      for (const auto& name : probe) {
        auto it = watched_.find(name);
        if (it != watched_.end()) it->second.last_probed = end;
      }
    }
    if (fresh) {
      current_ = fresh;
      fresh_until_ns_.store(SteadyNs(fresh->fetched_at + options_.refresh), std::memory_order_release);
      ever_succeeded_ = true;
      last_error_.reset();
      backoff_ = std::chrono::milliseconds(0);
      next_attempt_ = end;
    } else {
      last_error_ = error;
      backoff_ = std::clamp(backoff_ * 2, kMinBackoff, kMaxBackoff);
      next_attempt_ = end + backoff_;
      // The database the reader reconnects to may not be the one that was probed: restored from
      // a backup, failed over, its schema recreated. Forget what probes found in its history, so
      // the next successful read probes again and no memory outlives the database it came from.
      const ErrorCode code = error->code();
      if (code == ErrorCode::kDatabaseUnavailable || code == ErrorCode::kSchemaNotFound ||
          code == ErrorCode::kSchemaUnrecognized) {
        for (auto& [name, watch] : watched_) {
          watch.found = false;
          watch.last_probed.reset();
        }
      }
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
