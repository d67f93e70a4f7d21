#include "schema_catalog.h"

#include "drain_error.h"

namespace dbos_drain {

void SchemaCatalog::Add(const std::string& table, const std::optional<std::string>& column) {
  auto& columns = tables_[table];
  if (column) columns.insert(*column);
}

bool SchemaCatalog::HasColumn(const std::string& table, const std::string& column) const {
  auto it = tables_.find(table);
  return it != tables_.end() && it->second.count(column) > 0;
}

SchemaShape ShapeFromCatalog(const SchemaCatalog& catalog, const std::string& database, const std::string& schema) {
  SchemaShape shape;
  shape.schema = schema;
  shape.database = database;
  if (!catalog.HasTable("workflow_status")) {
    throw DrainError(ErrorCode::kSchemaNotFound,
                     "no DBOS system database found in database \"" + database + "\" schema \"" + schema +
                         "\": table " + schema + ".workflow_status does not exist (wrong database, or pass --schema)");
  }
  for (const char* needed : {"status", "application_version", "executor_id", "queue_name", "created_at"}) {
    if (!catalog.HasColumn("workflow_status", needed)) {
      throw DrainError(ErrorCode::kSchemaUnrecognized,
                       "unrecognized DBOS schema in database \"" + database + "\" schema \"" + schema + "\": " +
                           schema + ".workflow_status has no column " + needed);
    }
  }
  shape.has_application_name = catalog.HasColumn("workflow_status", "application_name");
  shape.has_delay_until = catalog.HasColumn("workflow_status", "delay_until_epoch_ms");
  shape.has_application_versions = catalog.HasColumn("application_versions", "version_name") &&
                                   catalog.HasColumn("application_versions", "version_timestamp");
  shape.versions_have_application_name = catalog.HasColumn("application_versions", "application_name");
  shape.has_queues = catalog.HasColumn("queues", "name") && catalog.HasColumn("queues", "concurrency");
  shape.queues_have_worker_concurrency = catalog.HasColumn("queues", "worker_concurrency");
  shape.queues_have_application_name = catalog.HasColumn("queues", "application_name");
  shape.has_schedule_name = catalog.HasColumn("workflow_status", "schedule_name");
  shape.has_forked_from = catalog.HasColumn("workflow_status", "forked_from");
  shape.has_completed_at = catalog.HasColumn("workflow_status", "completed_at");
  return shape;
}

}  // namespace dbos_drain
