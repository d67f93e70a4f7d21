// Which requests `dbos-drain serve` may answer on the HTTP library's few I/O threads: those
// answered without waiting for a database read. Every other request goes to the worker pool
// (plugin/http_server.h), so a hung database holds up pool threads (each at most query
// timeout + 1 s), never /healthz, /readyz or answers from a fresh report.
//
// Inline: every route while the report is fresh (ReportCache::IsFresh), except GET
// /v1/versions?all=true (below), which never is; /healthz, unmatched
// routes, wrong methods and bad requests always; /readyz once the database has answered (it is
// latched and answered from memory). Everything else (the report routes, /metrics, Flagger)
// waits on a read when the report is stale, so it goes to the pool.
#pragma once

#include "http_route.h"

namespace dbos_drain {

bool AnswersWithoutWaiting(RouteKind kind, bool report_fresh, bool ever_succeeded);

// The same for a routed request, plus: GET /v1/versions?all=true always goes to the pool. Its
// body is every version (~700 KB for 1,000 versions), encoded on first use once per report
// (CachedReport::AllVersionsJson): tens of ms that must not hold an I/O thread.
bool AnswersWithoutWaiting(const Route& route, bool report_fresh, bool ever_succeeded);

}  // namespace dbos_drain
