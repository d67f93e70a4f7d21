// The SQL dbos-drain runs, built to fit the detected schema shape. Pure string building, so the
// exact text is unit-tested and EXPLAINed by the benchmark.
//
// The report query reads only in-flight rows, with a predicate each of DBOS's partial indexes
// matches (ENQUEUED/PENDING: idx_workflow_status_in_flight[_v2]; DELAYED:
// idx_workflow_status_delayed), groups them by version, queue, executor and status, and appends
// the application_versions and queues rows and the database clock: one round trip, one snapshot.
//
// Result columns: kind ('g' group, 'v' registered version, 'q' queue, 'n' now), version, queue,
// executor, status, n, a, b. For 'g': a = min(created_at). For 'v': a = version_timestamp,
// b = created_at, executor = application_name (NULL on shapes without it). For 'q' too: executor =
// the queue's application_name. For 'q': a = concurrency, b = worker_concurrency. For 'n': a = now in ms.
// When application-scoped, $1 is the application name.
#pragma once

#include <string>

#include "model.h"

namespace dbos_drain {

// "schema"."table" with the schema name quoted as an SQL identifier.
std::string QualifiedTable(const std::string& schema, const std::string& table);

// How the in-flight rows are read (the session that runs it sets enable_bitmapscan to match,
// report_session.h): kIndexScans, one branch per partial index (ENQUEUED/PENDING, DELAYED) so
// each can be a plain index scan; kOneScan, one predicate for a (parallel) sequential scan or a
// BitmapOr of both indexes, for large backlogs.
enum class InFlightScan { kIndexScans, kOneScan };

std::string BuildReportQuery(const SchemaShape& shape, bool application_scoped,
                             InFlightScan scan = InFlightScan::kOneScan);

// The status check (core/status_ledger.h): every workflow_status row whose status is neither
// PENDING, ENQUEUED, DELAYED nor a known finished one (SUSPENDED, or a status dbos-drain does not
// know; a NULL status too), grouped like the report's 'g' rows (same columns, kind 'g', a =
// min(created_at)), scoped by $1 when application_scoped. No DBOS index leads with status, so
// it is a scan of the table (a parallel one on large tables): run when status_ledger.h says.
std::string BuildStatusCheckQuery(const SchemaShape& shape, bool application_scoped);
// Run before it in its own savepoint: parallel workers for the scan (2, PostgreSQL's default).
extern const char* const kStatusCheckSettings;

// Which of the versions in $1 (text[]) have at least one workflow_status row (scoped by $2 when
// application_scoped). Used only for versions that the report query did not already prove known.
std::string BuildHistoryProbeQuery(const SchemaShape& shape, bool application_scoped);

// Reads the tables and columns that exist in schema $1 (pg_catalog, not information_schema:
// information_schema hides tables the role cannot read, which would turn "permission denied"
// into a misleading "not found").
extern const char* const kSchemaShapeQuery;

}  // namespace dbos_drain
