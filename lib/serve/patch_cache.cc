#include "patch_cache.h"

#include "patch_json.h"
#include "report_json.h"

namespace dbos_drain {

PatchCache::PatchCache(Reader reader, PatchOptions policy, Options options)
    : reader_(std::move(reader)), policy_(policy), options_(options) {}

bool PatchCache::IsFresh() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_ && Clock::now() - current_->fetched_at < options_.refresh;
}

uint64_t PatchCache::read_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reads_;
}

PatchCache::Result PatchCache::Get() {
  // What to answer without reading: the fresh report, or (after a recent failure) the report
  // within the staleness bound, else the error.
  auto settled = [&](bool after_failure) -> std::optional<Result> {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = Clock::now();
    if (current_ && now - current_->fetched_at < options_.refresh) return Result{current_, std::nullopt};
    if (!after_failure) return std::nullopt;
    if (current_ && now - current_->fetched_at < options_.max_staleness) return Result{current_, std::nullopt};
    return Result{nullptr, last_error_ ? last_error_ : DrainError(ErrorCode::kQueryTimeout, "the patch report is not ready")};
  };
  auto recently_failed = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    return last_failure_ && Clock::now() - *last_failure_ < options_.retry_after;
  };
  if (auto r = settled(false)) return *r;
  if (recently_failed()) return *settled(true);

  std::unique_lock<std::timed_mutex> reading(read_mu_, std::defer_lock);
  if (!reading.try_lock_for(options_.wait_timeout)) {
    std::lock_guard<std::mutex> lock(mu_);
    if (current_ && Clock::now() - current_->fetched_at < options_.max_staleness) return Result{current_, std::nullopt};
    return Result{nullptr, DrainError(ErrorCode::kQueryTimeout, "the patch report read did not finish in time")};
  }
  // Another caller may have read while this one waited.
  if (auto r = settled(false)) return *r;
  if (recently_failed()) return *settled(true);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++reads_;
  }
  try {
    auto fresh = std::make_shared<CachedPatches>();
    fresh->report = BuildPatchesReport(reader_(), policy_);
    fresh->json = DumpJson(PatchesToJson(fresh->report));
    fresh->fetched_at = Clock::now();
    std::lock_guard<std::mutex> lock(mu_);
    current_ = fresh;
    last_error_.reset();
    last_failure_.reset();
    return Result{current_, std::nullopt};
  } catch (const DrainError& e) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_error_ = e;
      last_failure_ = Clock::now();
    }
    return *settled(true);
  }
}

}  // namespace dbos_drain
