#include "refresh_plan.h"

#include <algorithm>
#include <cmath>

namespace dbos_drain {

bool Usable(const CacheState& state, SteadyTime now) { return state.report && now < state.report->usable_until; }

bool Fresh(const CacheState& state, SteadyTime now) { return state.report && now < state.report->fresh_until; }

GetAction PlanGet(const CacheState& state, SteadyTime now) {
  if (Fresh(state, now)) return GetAction::kServe;
  // Stale (or nothing yet): join the read in flight, or start one unless backing off after a
  // failure. A report within its staleness bound is still served while backing off.
  if (!state.reading && state.failed && now < state.next_attempt) {
    return Usable(state, now) ? GetAction::kBackOff : GetAction::kFail;
  }
  return state.reading ? GetAction::kJoin : GetAction::kRefresh;
}

WaitAnswer PlanAfterWait(const CacheState& state, SteadyTime now, bool read_finished, bool timed_out) {
  if (Fresh(state, now) || Usable(state, now)) return WaitAnswer::kReport;
  if (timed_out) return WaitAnswer::kTimeout;
  if (state.stopping && !read_finished) return WaitAnswer::kShuttingDown;
  if (state.failed) return WaitAnswer::kLastError;
  return WaitAnswer::kNoReport;
}

std::chrono::milliseconds RefreshInterval(const CacheOptions& options, std::chrono::milliseconds read_took) {
  const double share = options.max_db_share;
  if (!(share > 0) || share >= 1 || read_took.count() <= 0) return options.refresh;
  const auto budget = std::chrono::milliseconds(
      static_cast<int64_t>(std::ceil(static_cast<double>(read_took.count()) * (1 - share) / share)));
  return std::max(options.refresh, budget);
}

std::chrono::milliseconds StalenessBound(const CacheOptions& options, std::chrono::milliseconds read_took) {
  return options.max_staleness + (RefreshInterval(options, read_took) - options.refresh);
}

bool RefreshThrottled(const CacheOptions& options, std::chrono::milliseconds read_took) {
  return RefreshInterval(options, read_took) > options.refresh;
}

ReportWindow WindowAfterRead(const CacheOptions& options, SteadyTime started, SteadyTime ended) {
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(ended - started);
  return ReportWindow{ended, ended + RefreshInterval(options, took), ended + StalenessBound(options, took)};
}

ReadPlan PlanAfterRead(const CacheOptions& options, std::chrono::milliseconds backoff, const ReadOutcome& read) {
  ReadPlan plan;
  if (!read.error) {
    plan.window = WindowAfterRead(options, read.started, read.ended);
    plan.backoff = std::chrono::milliseconds(0);
    plan.next_attempt = read.ended;
    return plan;
  }
  plan.backoff = std::clamp(backoff * 2, kMinBackoff, kMaxBackoff);
  plan.next_attempt = read.ended + plan.backoff;
  const ErrorCode code = *read.error;
  plan.forget_probe_results = code == ErrorCode::kDatabaseUnavailable || code == ErrorCode::kSchemaNotFound ||
                              code == ErrorCode::kSchemaUnrecognized;
  plan.defer_probes = code == ErrorCode::kQueryTimeout;
  return plan;
}

bool ShouldAbortRead(const CacheOptions& options, bool reading, SteadyTime since, SteadyTime now) {
  return reading && now - since > options.abort_after;
}

}  // namespace dbos_drain
