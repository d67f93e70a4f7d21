// What the rows of the report query mean (report_query.h: columns kind, version, queue,
// executor, status, n, a, b), and which asked versions still need a history lookup. Pure: a row
// in, the Snapshot updated; the one place that knows each kind of row.
//
// Contract (AddReportRow):
//  - 'g' (in-flight group): an InFlightGroup {version, queue, executor ('' when NULL), status, count = n,
//    oldest_created_at_ms = a} for an in-flight status (SUSPENDED included); a known finished
//    status is skipped; any other status is an UnknownStatusGroup {version, status, n, a}.
//  - 'v' (registered version): a RegisteredVersion {version, a (0 when NULL), b (0 when NULL),
//    application = executor (NULL: owned by no application)}.
//  - 'q' (queue): a QueueConfig {queue, concurrency = a, worker_concurrency = b, application =
//    executor}, NULL = unset.
//  - 'n' (the database clock): as_of_ms = a.
//  - any other kind: ignored. A column NULL where the kind requires a value: std::runtime_error.
// VersionsToProbe: the asked versions neither registered nor with in-flight rows in the
// snapshot, in the asked order (the report already proves the others known).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model.h"

namespace dbos_drain {

struct ReportRow {
  std::string kind;
  std::optional<std::string> version, queue, executor, status;
  std::optional<int64_t> n, a, b;
};

void AddReportRow(const ReportRow& row, Snapshot& snapshot);

std::vector<std::string> VersionsToProbe(const Snapshot& snapshot, const std::vector<std::string>& asked);

}  // namespace dbos_drain
