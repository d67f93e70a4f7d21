// GET /metrics: Prometheus text exposition 0.0.4 (families: encode/prometheus_text.h).
//
// The version and queue series come from the same report as GET /v1/versions, through
// ctx.cache.Get(): a scrape shares the cache's single refresh and waits at most the cache's
// bound (--query-timeout + 1 s) for a slow database. When no report within the staleness bound
// can be had, the scrape still answers 200 with dbos-drain's own metrics and
// dbos_drain_database_up 0, and without any version or queue series (never stale ones).
//
// With serve --patch-metrics, the patch series follow (encode/patch_prometheus.h), from the
// patch cache (its own freshness and staleness bound; dbos_drain_patch_report_up 0 and no
// per-patch series when it cannot be read).
#include "api.h"
#include "patch_cache.h"
#include "patch_prometheus.h"
#include "prometheus_text.h"

namespace dbos_drain {

HttpResponse ServeMetrics(const ApiContext& ctx, const Route&) {
  auto result = ctx.cache.Get();
  PrometheusInput in;
  in.service = ctx.metrics.Get();
  in.build_version = ctx.build_version;
  in.max_replica_lag_seconds = std::chrono::duration<double>(ctx.policy.max_replica_lag).count();
  const auto& options = ctx.cache.options();
  auto seconds = [](std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); };
  in.refresh_interval_seconds = seconds(options.refresh);
  in.staleness_bound_seconds = seconds(options.max_staleness);
  in.report_database_seconds_total = seconds(ctx.cache.read_time_total());
  if (result.report) {
    in.report = &result.report->report;
    const auto now = std::chrono::steady_clock::now();
    const auto age = now - result.report->fetched_at;
    in.report_age_seconds = result.report->AgeSeconds(now);
    // Up when the last read succeeded. A report younger than the refresh interval is the
    // newest read's result (no read starts before then), even if the read observer that sets
    // service.database_up has not run yet.
    in.database_up = in.service.database_up || age < result.report->refresh_interval;
    in.refresh_interval_seconds = seconds(result.report->refresh_interval);
    in.staleness_bound_seconds = seconds(result.report->staleness_bound);
    in.refresh_throttled = result.report->refresh_interval > options.refresh;
  }
  HttpResponse r;
  r.content_type = kPrometheusContentType;
  r.body = EncodePrometheus(in);
  if (ctx.patch_metrics && ctx.patches) {
    auto patches = ctx.patches->Get();
    r.body += EncodePatchPrometheus(patches.report ? &patches.report->report : nullptr);
  }
  return r;
}

}  // namespace dbos_drain
