// Serves the latest drain report to any number of concurrent callers while the database sees
// at most one report query per refresh interval.
//
// Contract:
//  - A report younger than `refresh` is served from memory; no caller touches the database.
//  - When it is older, the first caller starts one refresh on the cache's own thread and every
//    caller that arrives meanwhile waits for that same refresh (single flight), at most
//    `wait_timeout` (then: kQueryTimeout). No caller ever runs a query of its own.
//  - When a refresh fails or does not finish within `wait_timeout`, the last report is still
//    served while it is younger than `max_staleness` (a short database blip does not flap
//    answers); past that bound it is never returned and the caller gets the error. So a cached
//    "drained" can never outlive that bound.
//  - After a failed refresh, the next one starts no sooner than a backoff (100 ms doubling to
//    1 s), so a down database is retried often enough to recover within ~1 s of coming back
//    without being hammered; callers in between get the last error.
//  - A refresh that hangs past `abort_after` (a frozen server, a dead network) is aborted by
//    closing its socket; the reader then reconnects.
//  - Versions that callers ask about and the report does not know are "watched": the next
//    refreshes look them up in workflow history (at most every `probe_interval` each), so an
//    old-schema version that only has finished workflows becomes known. What they found is
//    forgotten when the database is lost (unreachable, schema gone): the database read after
//    that may be another one (a restored backup), and it is probed afresh.
//
// Planner and executor: every decision above is a pure function in core/refresh_plan.h (what a
// caller does, what a finished read changes, when to abort) and core/watched_versions.h (the
// probe bookkeeping), unit-tested without threads. This class holds the state under one mutex,
// asks them, and carries out the answer: it waits, wakes the refresher, reads, aborts. The
// report is built and encoded to JSON outside the mutex, so no Get() waits on an encoding.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "drain_error.h"
#include "drain_policy.h"
#include "model.h"
#include "refresh_plan.h"
#include "watched_versions.h"

namespace dbos_drain {

// A report with what the HTTP layer needs precomputed once per refresh.
struct CachedReport {
  Report report;
  std::chrono::steady_clock::time_point fetched_at;
  std::chrono::milliseconds query_duration{0};
  // How long this report is fresh (served without a read) and may be served at all, counted
  // from fetched_at (core/refresh_plan.h: RefreshInterval, StalenessBound).
  std::chrono::milliseconds refresh_interval{0};
  std::chrono::milliseconds staleness_bound{0};
  // The report in its default listing (core/version_listing.h), without age_seconds (callers
  // splice it in): GET /v1/versions.
  std::string report_json;
  // Every version (GET /v1/versions?all=true), encoded on first use, at most once per report, by
  // the first caller that asks (others wait for that one encoding; no cache lock is held).
  const std::string& AllVersionsJson() const;
  // Per version entry + as_of, without age_seconds, for every version, listed or not.
  std::map<std::string, std::string> version_json;

  // Seconds since the report was read (the one definition of a report's age).
  double AgeSeconds(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) const {
    return std::chrono::duration<double>(now - fetched_at).count();
  }

 private:
  mutable std::once_flag all_versions_once_;
  mutable std::string all_versions_json_;
};

class ReportCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Reader = std::function<Snapshot(const std::vector<std::string>& probe_versions)>;
  using Aborter = std::function<void()>;
  // Called after each refresh attempt (for logs and metrics): the new report or the error.
  using Observer = std::function<void(const CachedReport*, const DrainError*)>;

  using Options = CacheOptions;  // core/refresh_plan.h

  struct Result {
    std::shared_ptr<const CachedReport> report;  // set on success
    std::optional<DrainError> error;              // set on failure
  };

  ReportCache(Reader reader, Aborter aborter, PolicyOptions policy, Options options, Observer observer = nullptr);
  ~ReportCache();  // stops the refresh thread (waits for a running read to finish or abort)

  // The current report, refreshing first when it is older than `refresh`.
  // `version`: a version the caller is about to look up (may become watched).
  // On a thread inside a NoWaitScope, Get() never waits: where it would wait for a read it asks
  // for the read and answers with the current report while it is within its staleness bound
  // (else the last error). For a thread that must not block (serve's front listener), which
  // calls Get() only right after IsFresh() said true, so what it gets is at most microseconds
  // past the refresh interval: never a verdict older than the bound.
  Result Get(const std::string& version = "");

  class NoWaitScope {
   public:
    NoWaitScope();
    ~NoWaitScope();
    NoWaitScope(const NoWaitScope&) = delete;
    NoWaitScope& operator=(const NoWaitScope&) = delete;

   private:
    bool outer_;
  };

  // For a prompt shutdown: stops refreshing and releases every caller waiting for a refresh at
  // once (each gets the report within max_staleness, or an error); later calls do not wait.
  // The destructor does this too.
  void Shutdown();

  // The current report if it is within max_staleness, without triggering a refresh.
  std::shared_ptr<const CachedReport> Peek() const;

  // Number of report reads started so far (for tests and metrics).
  uint64_t refresh_count() const;

  // True once any refresh has succeeded (the database answered and the schema was recognized).
  bool ever_succeeded() const;

  // The error of the last refresh attempt when it failed, without waiting or refreshing.
  std::optional<DrainError> last_error() const;

  // True while the current report is younger than `refresh`, i.e. Get() answers from memory
  // without waiting. Lock-free: the HTTP layer asks it to decide where a request may run.
  bool IsFresh() const;

  const Options& options() const { return options_; }

  // Time spent in report reads so far, failed ones included (the database budget's account).
  std::chrono::nanoseconds read_time_total() const;

 private:
  void RefreshLoop();
  void Watchdog();
  // The current report (or none) with the error and the flags the planner reads.
  CacheState State() const;  // under mu_
  // Builds the report from `snapshot` and encodes it; no lock held.
  std::shared_ptr<CachedReport> Encode(Snapshot snapshot, const ReportWindow& window, std::chrono::milliseconds took) const;

  Reader reader_;
  Aborter aborter_;
  PolicyOptions policy_;
  Options options_;
  Observer observer_;

  mutable std::mutex mu_;
  std::condition_variable wake_refresher_;
  std::condition_variable refreshed_;
  std::shared_ptr<const CachedReport> current_;
  std::optional<ReportWindow> window_;  // current_'s
  std::optional<DrainError> last_error_;
  uint64_t generation_ = 0;     // bumped after each refresh attempt
  bool refresh_requested_ = false;
  bool refreshing_ = false;     // from the request of a read until its result is installed
  bool reading_ = false;        // the reader is running (the watchdog may abort it)
  SteadyTime abort_since_{};    // the read's start, or the watchdog's last abort
  SteadyTime next_attempt_{};   // backoff after failures
  std::chrono::milliseconds backoff_{0};
  uint64_t refresh_count_ = 0;
  std::chrono::nanoseconds read_time_total_{0};
  bool ever_succeeded_ = false;
  std::atomic<int64_t> fresh_until_ns_{0};  // steady_clock: window_->fresh_until
  bool stopping_ = false;
  WatchedVersions watched_;
  std::thread refresher_;
  std::thread watchdog_;
};

}  // namespace dbos_drain
