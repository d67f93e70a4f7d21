// GET /v1/queues/{queue}[?version=V|latest] for KEDA's metrics-api scaler (DBOS's Kubernetes
// guide). The numbers are core's ComputeQueueDemand (queue_demand.h); this file only maps them to
// HTTP. KEDA only accepts HTTP 200 with a number at valueLocation, so every answer that is not a
// usable number is deliberate: 404 for an unknown queue (a typo never scales workers in), 422 for
// version=latest when the database names no latest version, 503 when the database is unreadable,
// and 200 with desired_workers null when the queue has no worker concurrency.
#include "api.h"
#include "queue_demand.h"

namespace dbos_drain {

HttpResponse ServeQueue(const ApiContext& ctx, const Route& route) {
  // "latest" is resolved from the report; it is not a version to look up in workflow history.
  const bool latest = route.version && *route.version == kLatestVersionSelector;
  auto result = ctx.cache.Get(latest ? "" : route.version.value_or(""));
  if (!result.report) return DatabaseErrorResponse(*result.error);
  const Report& report = result.report->report;

  QueueDemand d = ComputeQueueDemand(report, route.name, route.version, ctx.policy);
  if (d.outcome == QueueDemandOutcome::kUnknownQueue) return ErrorResponse(404, "not_found", d.message);
  if (d.outcome == QueueDemandOutcome::kNoLatestVersion) return ErrorResponse(422, "unprocessable", d.message);

  auto opt = [](const std::optional<int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  const char* selection = d.selection == QueueSelection::kAll       ? "all"
                          : d.selection == QueueSelection::kLatest ? "latest"
                                                                   : "version";
  nlohmann::json doc{
      {"queue", route.name},
      {"known", d.known},
      {"application", d.application ? nlohmann::json(*d.application) : nlohmann::json(nullptr)},
      {"version", d.version ? nlohmann::json(*d.version) : nlohmann::json(nullptr)},
      {"selection", selection},
      {"latest_version", report.latest_version ? nlohmann::json(*report.latest_version) : nlohmann::json(nullptr)},
      {"queue_utilization", d.utilization},
      {"pending", d.counts.pending},
      {"enqueued", d.counts.enqueued},
      {"delayed", d.counts.delayed},
      {"suspended", d.counts.suspended},
      {"worker_concurrency", opt(d.worker_concurrency)},
      {"concurrency", opt(d.concurrency)},
      {"desired_workers", opt(d.desired_workers)},
      {"as_of", FormatTimestamp(report.as_of_ms)},
  };
  HttpResponse r;
  r.body = WithAge(DumpJson(doc), *result.report);
  return r;
}

}  // namespace dbos_drain
