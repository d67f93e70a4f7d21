// GET /v1/queues/{queue}[?version=V] for KEDA's metrics-api scaler (DBOS's Kubernetes guide):
// queue_utilization = PENDING + ENQUEUED tasks of the queue; desired_workers =
// ceil(queue_utilization / worker_concurrency) when the queues table gives the concurrency.
// KEDA only accepts HTTP 200 with a number at valueLocation, so an unknown queue is 200 with
// zeros and "known": false; a database error is 503.
#include "api.h"

namespace dbos_drain {

HttpResponse ServeQueue(const ApiContext& ctx, const Route& route) {
  auto result = ctx.cache.Get(route.version.value_or(""));
  if (!result.report) return DatabaseErrorResponse(*result.error);
  const Report& report = result.report->report;

  StatusCounts counts;
  bool known = false;
  std::optional<int64_t> worker_concurrency, concurrency;
  auto q = report.queues.find(route.name);
  if (q != report.queues.end()) {
    known = true;
    worker_concurrency = q->second.worker_concurrency;
    concurrency = q->second.concurrency;
    counts = q->second.in_flight;
  }
  if (route.version) {
    VersionReport v = FindVersion(report, *route.version, ctx.policy);
    auto vq = v.queues.find(route.name);
    counts = vq != v.queues.end() ? vq->second : StatusCounts{};
  }
  const int64_t utilization = counts.pending + counts.enqueued;
  nlohmann::json doc{
      {"queue", route.name},
      {"known", known},
      {"version", route.version ? nlohmann::json(*route.version) : nlohmann::json(nullptr)},
      {"queue_utilization", utilization},
      {"pending", counts.pending},
      {"enqueued", counts.enqueued},
      {"delayed", counts.delayed},
      {"worker_concurrency", worker_concurrency ? nlohmann::json(*worker_concurrency) : nlohmann::json(nullptr)},
      {"concurrency", concurrency ? nlohmann::json(*concurrency) : nlohmann::json(nullptr)},
      {"desired_workers", worker_concurrency && *worker_concurrency > 0
                              ? nlohmann::json((utilization + *worker_concurrency - 1) / *worker_concurrency)
                              : nlohmann::json(nullptr)},
      {"as_of", FormatTimestamp(report.as_of_ms)},
  };
  HttpResponse r;
  r.body = WithAge(DumpJson(doc), *result.report);
  return r;
}

}  // namespace dbos_drain
