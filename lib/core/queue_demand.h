// What one queue asks of the workers that can take its rows, for KEDA's metrics-api scaler
// (GET /v1/queues/{queue}[?version=V]): a pure function of a Report.
//
// Contract:
//  - No version: every in-flight row of the queue, whatever its version (the whole queue).
//  - version=V: only V's rows, which are all a worker of V can dequeue; for the latest version
//    this includes the NULL-version rows (only the latest version's workers take them).
//  - version=latest (reserved word): the version `application_versions` names latest now, so a
//    ScaledObject can follow the version its Deployment runs even when that version is a
//    pod-template hash. No latest version (no application_versions table, or nothing registered
//    in it): kNoLatestVersion, never a guess.
//  - Unknown queue: on a schema with a `queues` table, a queue that is not in it and has nothing
//    in flight is kUnknownQueue (a typo must not read as an idle queue and scale workers in). On a
//    schema without that table the name cannot be checked: zeros, known = false.
//  - desired_workers = ceil(queue_utilization / worker_concurrency), queue_utilization = PENDING +
//    ENQUEUED, and at least 1 while the selection holds SUSPENDED rows (they take no slot, but
//    need a worker of their version when their wait ends); unset when the queue has no worker
//    concurrency (nothing to divide by).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "drain_policy.h"
#include "model.h"

namespace dbos_drain {

inline constexpr const char* kLatestVersionSelector = "latest";

enum class QueueDemandOutcome {
  kOk,
  kUnknownQueue,     // the queues table exists and has no such queue, and nothing is in flight in it
  kNoLatestVersion,  // version=latest, but the database names no latest version
};

enum class QueueSelection { kAll, kVersion, kLatest };

struct QueueDemand {
  QueueDemandOutcome outcome = QueueDemandOutcome::kOk;
  std::string message;                 // why, when outcome is not kOk
  QueueSelection selection = QueueSelection::kAll;
  std::optional<std::string> version;  // the version whose rows are counted (resolved for latest)
  bool known = false;                  // in the queues table, or has in-flight rows
  std::optional<std::string> application;  // the queue's application_name in the queues table
  StatusCounts counts;
  int64_t utilization = 0;             // counts.pending + counts.enqueued
  std::optional<int64_t> worker_concurrency;
  std::optional<int64_t> concurrency;
  std::optional<int64_t> desired_workers;
};

// `version`: the ?version= parameter as given (nullopt: none).
QueueDemand ComputeQueueDemand(const Report& report, const std::string& queue,
                               const std::optional<std::string>& version, const PolicyOptions& options);

}  // namespace dbos_drain
