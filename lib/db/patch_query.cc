#include "patch_query.h"

#include "report_query.h"

namespace dbos_drain {

const char* const kPatchColumnsQuery =
    "SELECT c.relname::text, a.attname::text"
    " FROM pg_catalog.pg_class c"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
    " WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
    " AND c.relname IN ('operation_outputs', 'workflow_status')";

namespace {

// 'DBOS.patch-' is 11 bytes; LIKE's '_' and '%' are not in it, only '.', which LIKE takes literally.
constexpr const char* kIsMarker = "o.function_name LIKE 'DBOS.patch-%'";

std::string Scope(const SchemaShape& shape, bool scoped, const char* alias, int param) {
  if (!scoped || !shape.has_application_name) return "";
  const std::string a = alias;
  const std::string p = "$" + std::to_string(param);
  return " AND (" + a + ".application_name = " + p + " OR " + a + ".application_name IS NULL)";
}

}  // namespace

std::string BuildPatchHistoryQuery(const SchemaShape& shape, bool since, bool application_scoped) {
  const std::string oo = QualifiedTable(shape.schema, "operation_outputs");
  const std::string ws = QualifiedTable(shape.schema, "workflow_status");
  const bool scoped = application_scoped && shape.has_application_name;
  // A marker of a workflow deleted since (or of another application) still dates the patch
  // only when it is this application's: scoped, the join must find the workflow. The incremental
  // read goes by completion time, so it also reads every marker without one (Java writes completed
  // NULL, Go both times NULL): they count for positions and are never dated by a made-up time.
  return "SELECT substr(o.function_name, 12) AS patch, COALESCE(w.name, '') AS function, o.function_id,"
         " min(COALESCE(o.started_at_epoch_ms, o.completed_at_epoch_ms))::bigint AS first_ms,"
         " count(*) FILTER (WHERE o.started_at_epoch_ms IS NULL AND o.completed_at_epoch_ms IS NULL)::bigint AS undated"
         " FROM " + oo + " o " + (scoped ? "JOIN " : "LEFT JOIN ") + ws + " w ON w.workflow_uuid = o.workflow_uuid"
         " WHERE " + kIsMarker + (since ? " AND (o.completed_at_epoch_ms >= $1 OR o.completed_at_epoch_ms IS NULL)" : "") +
         Scope(shape, scoped, "w", since ? 2 : 1) +
         " GROUP BY 1, 2, 3";
}

std::string BuildPatchInFlightQuery(const SchemaShape& shape, bool application_scoped) {
  const std::string oo = QualifiedTable(shape.schema, "operation_outputs");
  const std::string ws = QualifiedTable(shape.schema, "workflow_status");
  const std::string scope = Scope(shape, application_scoped, "s", 3);
  auto in_flight = [&](const char* status_filter) {
    return std::string("SELECT s.workflow_uuid, COALESCE(s.name, '') AS name, COALESCE(s.status, '(null)') AS status, s.queue_name, s.created_at FROM ") +
           ws + " s WHERE " + status_filter + scope;
  };
  // Two branches so each status set matches the predicate of its own partial index (as the
  // version report does). CTEs referenced twice are computed once.
  // A third for SUSPENDED and statuses dbos-drain does not know (issue 22): they hold their
  // markers as in-flight work does. No index covers them: a scan of workflow_status per read.
  return "WITH wf AS (" + in_flight("s.status IN ('ENQUEUED', 'PENDING')") + " UNION ALL " +
         in_flight("s.status = 'DELAYED'") + " UNION ALL " +
         in_flight("(s.status IS NULL OR s.status NOT IN ('ENQUEUED', 'PENDING', 'DELAYED', 'SUCCESS', 'ERROR',"
                   " 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED', 'RETRIES_EXCEEDED'))") +
         // LATERAL with OFFSET 0 (not pulled up into a plain join): one primary-key range per
         // in-flight workflow. As a plain join the planner prefers hashing a seq scan of all of
         // operation_outputs once there are ~10k workflows (1 s at 1.1M rows, bench/patches.sh).
         "), o AS (SELECT wf.workflow_uuid, wf.name, o.function_id, o.function_name, o.started_at_epoch_ms"
         " FROM wf CROSS JOIN LATERAL (SELECT r.function_id, r.function_name, r.started_at_epoch_ms FROM " + oo +
         " r WHERE r.workflow_uuid = wf.workflow_uuid OFFSET 0) o"
         "), pos AS (SELECT DISTINCT o.name, o.function_id FROM o WHERE " + kIsMarker +
         " UNION SELECT h.f, h.p FROM unnest($1::text[], $2::int[]) AS h(f, p))"
         " SELECT 'w'::text AS kind, wf.workflow_uuid AS id, wf.name AS a, wf.status AS b, wf.queue_name AS c,"
         " wf.created_at::bigint AS x, NULL::bigint AS y FROM wf"
         " UNION ALL SELECT 's', o.workflow_uuid, o.function_name, NULL, NULL, o.function_id::bigint,"
         " o.started_at_epoch_ms::bigint FROM o JOIN pos ON pos.name = o.name AND pos.function_id = o.function_id"
         " UNION ALL SELECT 'n', NULL, NULL, NULL, NULL, (extract(epoch FROM now()) * 1000)::bigint, NULL";
}

std::string IntArrayLiteral(const std::vector<int>& values) {
  std::string literal = "{";
  for (size_t i = 0; i < values.size(); ++i) literal += (i ? "," : "") + std::to_string(values[i]);
  return literal + "}";
}

}  // namespace dbos_drain
