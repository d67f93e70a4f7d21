#include "queue_demand.h"

namespace dbos_drain {

QueueDemand ComputeQueueDemand(const Report& report, const std::string& queue,
                               const std::optional<std::string>& version, const PolicyOptions& options) {
  QueueDemand d;
  auto q = report.queues.find(queue);
  if (q != report.queues.end()) {
    d.known = true;
    d.worker_concurrency = q->second.worker_concurrency;
    d.concurrency = q->second.concurrency;
    d.application = q->second.application;
    d.counts = q->second.in_flight;
  }
  if (!d.known && report.shape.has_queues) {
    d.outcome = QueueDemandOutcome::kUnknownQueue;
    d.message = "queue \"" + queue + "\" is unknown: not in " + report.shape.schema +
                ".queues and no workflow in flight in it; check the name (an unknown queue is an "
                "error, not an idle queue, so a typo never scales workers in)";
    return d;
  }

  if (version) {
    d.selection = QueueSelection::kVersion;
    d.version = *version;
    if (*version == kLatestVersionSelector) {
      d.selection = QueueSelection::kLatest;
      if (!report.latest_version) {
        d.outcome = QueueDemandOutcome::kNoLatestVersion;
        d.message = report.latest_by_application.size() > 1
                        ? "version=latest: several applications share this system database, each with its own "
                          "latest version; start dbos-drain with --application, or name the version"
                    : report.shape.has_application_versions
                        ? "version=latest: no version is registered in " + report.shape.schema +
                              ".application_versions yet; name the version instead"
                        : "version=latest needs the " + report.shape.schema +
                              ".application_versions table (newer DBOS schemas); name the version instead";
        return d;
      }
      d.version = *report.latest_version;
    }
    VersionReport v = FindVersion(report, *d.version, options);
    auto vq = v.queues.find(queue);
    d.counts = vq != v.queues.end() ? vq->second : StatusCounts{};
  }

  d.utilization = d.counts.pending + d.counts.enqueued;
  if (d.worker_concurrency && *d.worker_concurrency > 0) {
    d.desired_workers = (d.utilization + *d.worker_concurrency - 1) / *d.worker_concurrency;
    // A SUSPENDED row takes no slot, but needs a worker of its version when its wait ends.
    if (d.counts.suspended > 0 && *d.desired_workers == 0) d.desired_workers = 1;
  }
  return d;
}

}  // namespace dbos_drain
