#include "report_query.h"

namespace dbos_drain {

std::string QualifiedTable(const std::string& schema, const std::string& table) {
  std::string out = "\"";
  for (char c : schema) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"." + table;
}

std::string BuildReportQuery(const SchemaShape& shape, bool application_scoped, InFlightScan scan) {
  const std::string ws = QualifiedTable(shape.schema, "workflow_status");
  const bool scope_ws = application_scoped && shape.has_application_name;
  const std::string ws_scope = scope_ws ? " AND (application_name = $1 OR application_name IS NULL)" : "";
  // kOneScan: one scan, one aggregate. The OR of the two partial indexes' predicates
  // (ENQUEUED/PENDING: idx_workflow_status_in_flight[_v2]; DELAYED: idx_workflow_status_delayed)
  // lets the planner choose: a BitmapOr of both indexes, or a (parallel) sequential scan for a
  // large backlog, like a bare count(*) of the same rows. The UNION of one branch per index read
  // the heap twice at 1M in flight (a seq scan for ENQUEUED/PENDING plus a bitmap heap scan for
  // DELAYED, ~2x the bare count).
  // kIndexScans: that UNION, for small backlogs, so that each branch can be a plain index scan
  // (a plan cannot OR two indexes without a bitmap): why, in report_session.h.
  // Grouped by the plain columns: no expression per row (the reader maps a NULL executor to ''
  // and core treats a '' queue as not queued, so the groups they split into add up the same).
  // Session settings sized to the backlog (work_mem, parallel workers): report_session.h.
  const std::string columns = "application_version, queue_name, executor_id, status, created_at";
  const std::string from =
      scan == InFlightScan::kOneScan
          ? ws + " WHERE (status IN ('ENQUEUED', 'PENDING') OR status = 'DELAYED')" + ws_scope
          : "(SELECT " + columns + " FROM " + ws + " WHERE status IN ('ENQUEUED', 'PENDING')" + ws_scope +
                " UNION ALL SELECT " + columns + " FROM " + ws + " WHERE status = 'DELAYED'" + ws_scope +
                ") AS in_flight";
  std::string sql =
      "SELECT 'g'::text AS kind, application_version AS version, queue_name AS queue,"
      " executor_id AS executor, status, count(*)::bigint AS n,"
      " min(created_at)::bigint AS a, NULL::bigint AS b"
      " FROM " + from +
      " GROUP BY application_version, queue_name, executor_id, status";
  if (shape.has_application_versions) {
    bool scope = scope_ws && shape.versions_have_application_name;
    // The executor column carries application_name for 'v' rows (report_rows.h).
    sql += "\nUNION ALL\nSELECT 'v', version_name, NULL, " +
           std::string(shape.versions_have_application_name ? "application_name::text" : "NULL") +
           ", NULL, NULL, version_timestamp::bigint, created_at::bigint FROM " +
           QualifiedTable(shape.schema, "application_versions") +
           (scope ? " WHERE (application_name = $1 OR application_name IS NULL)" : "");
  }
  if (shape.has_queues) {
    bool scope = scope_ws && shape.queues_have_application_name;
    sql += "\nUNION ALL\nSELECT 'q', NULL, name, " +
           std::string(shape.queues_have_application_name ? "application_name::text" : "NULL") +
           ", NULL, NULL, concurrency::bigint, " +
           std::string(shape.queues_have_worker_concurrency ? "worker_concurrency::bigint" : "NULL::bigint") +
           " FROM " + QualifiedTable(shape.schema, "queues") +
           (scope ? " WHERE (application_name = $1 OR application_name IS NULL)" : "");
  }
  sql += "\nUNION ALL\nSELECT 'n', NULL, NULL, NULL, NULL, NULL, (extract(epoch FROM now()) * 1000)::bigint, NULL";
  return sql;
}

std::string BuildStatusCheckQuery(const SchemaShape& shape, bool application_scoped) {
  const bool scope = application_scoped && shape.has_application_name;
  // COALESCE: a NULL status is not a known one either (it reads as '(null)').
  // Its own column names (status_check_kind): tests and bench/ tell it from the report query by them.
  return "SELECT 'g'::text AS status_check_kind, application_version, queue_name, executor_id,"
         " COALESCE(status, '(null)') AS status, count(*)::bigint AS n, min(created_at)::bigint AS a, NULL::bigint AS b"
         " FROM " + QualifiedTable(shape.schema, "workflow_status") +
         " WHERE (status IS NULL OR status NOT IN ('PENDING', 'ENQUEUED', 'DELAYED', 'SUCCESS', 'ERROR', 'CANCELLED',"
         " 'MAX_RECOVERY_ATTEMPTS_EXCEEDED', 'RETRIES_EXCEEDED'))" +
         (scope ? " AND (application_name = $1 OR application_name IS NULL)" : "") +
         " GROUP BY application_version, queue_name, executor_id, status";
}

const char* const kStatusCheckSettings = "SET LOCAL max_parallel_workers_per_gather = 2";

std::string BuildHistoryProbeQuery(const SchemaShape& shape, bool application_scoped) {
  const bool scope = application_scoped && shape.has_application_name;
  return "SELECT v FROM unnest($1::text[]) AS v WHERE EXISTS (SELECT 1 FROM " +
         QualifiedTable(shape.schema, "workflow_status") + " WHERE application_version = v" +
         (scope ? " AND (application_name = $2 OR application_name IS NULL)" : "") + ")";
}

const char* const kSchemaShapeQuery =
    "SELECT c.relname::text, a.attname::text, current_database()::text"
    " FROM pg_catalog.pg_class c"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
    " WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
    " AND c.relname IN ('workflow_status', 'application_versions', 'queues', 'dbos_migrations')";

}  // namespace dbos_drain
