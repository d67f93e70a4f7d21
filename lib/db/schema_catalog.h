// Which DBOS schema shape a database has, decided from its catalog: the tables and columns that
// kSchemaShapeQuery (report_query.h) lists for one schema. Pure: rows in, SchemaShape or error out.
//
// Contract:
//  - No workflow_status table in the schema: DrainError(kSchemaNotFound), naming the database,
//    the schema and the --schema flag.
//  - workflow_status without one of status, application_version, executor_id, queue_name,
//    created_at: DrainError(kSchemaUnrecognized) naming the first missing column (in that order).
//  - Otherwise every optional feature (application_name, delay_until_epoch_ms, the
//    application_versions and queues tables and their optional columns) is true exactly when its
//    columns exist. `migration` is left unset: reading dbos_migrations is I/O (HasMigrations()).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

#include "model.h"

namespace dbos_drain {

// The tables of one schema and their columns, as read from pg_catalog.
class SchemaCatalog {
 public:
  // One catalog row: a table, and one of its columns (none for a table without columns).
  void Add(const std::string& table, const std::optional<std::string>& column);

  bool HasTable(const std::string& table) const { return tables_.count(table) > 0; }
  bool HasColumn(const std::string& table, const std::string& column) const;
  // dbos_migrations(version) exists, so the migration number can be read (informational).
  bool HasMigrations() const { return HasColumn("dbos_migrations", "version"); }

 private:
  std::map<std::string, std::set<std::string>> tables_;
};

// The shape of schema `schema` in database `database` (both for SchemaShape and for messages).
// Throws DrainError(kSchemaNotFound | kSchemaUnrecognized) as the contract says.
SchemaShape ShapeFromCatalog(const SchemaCatalog& catalog, const std::string& database, const std::string& schema);

}  // namespace dbos_drain
