// Serves the patch report (GET /v1/patches, the patch series of /metrics) to concurrent callers
// with at most one patch read at a time, on its own database connection, so the version report
// (ReportCache) never waits for it and costs nothing more when nobody asks about patches.
//
// Contract (the same freshness rules as ReportCache, simpler machinery):
//  - Nothing is read until the first Get(). A report younger than `refresh` is served from memory.
//  - When it is older, the first caller reads; callers arriving meanwhile wait for that read (at
//    most `wait_timeout`) and take its result: single flight.
//  - A failed read leaves the last report served while it is younger than `max_staleness`; past
//    that the caller gets the error. After a failure no read starts for `retry_after`, so a down
//    database is not hammered (callers get the last error, or the report within the bound).
//  - The read runs on the caller's thread (serve runs /v1/patches on its worker pool); it is
//    bounded by --query-timeout and --connect-timeout.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "drain_error.h"
#include "patch_policy.h"

namespace dbos_drain {

struct CachedPatches {
  PatchesReport report;
  std::chrono::steady_clock::time_point fetched_at;
  std::string json;  // the document, without age_seconds
};

class PatchCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Reader = std::function<PatchSnapshot()>;

  struct Options {
    std::chrono::milliseconds refresh{2000};
    std::chrono::milliseconds max_staleness{11000};
    std::chrono::milliseconds wait_timeout{6000};
    std::chrono::milliseconds retry_after{1000};
  };

  struct Result {
    std::shared_ptr<const CachedPatches> report;  // set on success
    std::optional<DrainError> error;               // set on failure
  };

  PatchCache(Reader reader, PatchOptions policy, Options options);

  Result Get();

  // True while Get() answers from memory without reading.
  bool IsFresh() const;

  uint64_t read_count() const;

 private:
  Reader reader_;
  PatchOptions policy_;
  Options options_;
  std::timed_mutex read_mu_;  // held by the one read in progress
  mutable std::mutex mu_;
  std::shared_ptr<const CachedPatches> current_;
  std::optional<DrainError> last_error_;
  std::optional<Clock::time_point> last_failure_;
  uint64_t reads_ = 0;
};

}  // namespace dbos_drain
