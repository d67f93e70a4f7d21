#include "retire_query.h"

#include "report_query.h"

namespace dbos_drain {

std::string BuildRetireQuery(const SchemaShape& shape, bool application_scoped) {
  const std::string ws = QualifiedTable(shape.schema, "workflow_status");
  const bool scope = application_scoped && shape.has_application_name;
  const std::string ws_scope = scope ? " AND (application_name = $4 OR application_name IS NULL)" : "";
  // Where a row came from, as far as it shows (docs/concepts.md, "Drained vs safe to retire"). Ids are the SDKs':
  // sched-<name>-<time> (legacy cron), kafka-unique-id-<topic>-... (Kafka receivers).
  std::string source = "CASE";
  if (shape.has_schedule_name) source += " WHEN schedule_name IS NOT NULL THEN 'scheduled'";
  source += " WHEN workflow_uuid LIKE 'sched-%' THEN 'scheduled'";
  source += " WHEN workflow_uuid LIKE 'kafka-unique-id-%' THEN 'kafka'";
  if (shape.has_forked_from) source += " WHEN forked_from IS NOT NULL THEN 'fork'";
  source += " WHEN executor_id = '' THEN 'client_enqueue' ELSE 'other' END";

  // The two ranges as a UNION ALL of two index range scans: an OR of them would be one scan
  // from $1 with a filter, reading the whole window.
  auto ranges = [&](const std::string& columns, const std::string& at, const std::string& extra) {
    return "SELECT " + columns + " FROM " + ws + " WHERE " + at + " >= $1::bigint AND " + at + " < $2::bigint" + extra +
           ws_scope + " UNION ALL SELECT " + columns + " FROM " + ws + " WHERE " + at + " >= $3::bigint" + extra + ws_scope;
  };
  std::string sql = "SELECT 'i'::text AS retire_kind, application_version AS retire_version, name, source,"
                    " created_at / 1000 AS second, count(*)::bigint AS n, max(created_at)::bigint AS t FROM (" +
                    ranges("application_version, COALESCE(name, '') AS name, " + source + " AS source, created_at",
                           "created_at", "") +
                    ") AS started GROUP BY 2, 3, 4, 5";
  if (shape.has_completed_at) {
    sql += "\nUNION ALL\nSELECT 'f', application_version, NULL, NULL, completed_at / 1000, count(*)::bigint,"
           " max(completed_at)::bigint FROM (" +
           ranges("application_version, completed_at", "completed_at",
                  " AND status NOT IN ('PENDING', 'ENQUEUED', 'DELAYED')") +
           ") AS finished GROUP BY 2, 5";
  }
  sql += "\nUNION ALL\nSELECT 's', NULL, application_name::text, NULL, NULL, NULL, NULL FROM pg_catalog.pg_stat_activity"
         " WHERE datname = current_database() AND application_name LIKE 'dbos\\_transact\\_%'";
  return sql;
}

}  // namespace dbos_drain
