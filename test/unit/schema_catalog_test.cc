// Catalog rows -> SchemaShape (lib/db/schema_catalog.h): which features each DBOS schema shape
// has, and the two errors (no workflow_status; a required column missing), without a database.
// test/db/shapes_test.cc and errors_test.cc run the same decision against the real fixtures.
#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>

#include "drain_error.h"
#include "schema_catalog.h"

using namespace dbos_drain;

namespace {

const std::initializer_list<const char*> kRequired = {"status", "application_version", "executor_id", "queue_name",
                                                      "created_at"};

void AddTable(SchemaCatalog& c, const std::string& table, std::initializer_list<const char*> columns) {
  for (const char* col : columns) c.Add(table, std::string(col));
}

// The oldest shape dbos-drain reads: workflow_status with the required columns only.
SchemaCatalog Minimal() {
  SchemaCatalog c;
  AddTable(c, "workflow_status", kRequired);
  AddTable(c, "workflow_status", {"workflow_uuid", "name", "updated_at"});
  return c;
}

// What schema-newest.sql has (Python/TypeScript SDK 4.x).
SchemaCatalog Newest() {
  SchemaCatalog c = Minimal();
  AddTable(c, "workflow_status", {"application_name", "delay_until_epoch_ms", "deduplication_id", "priority"});
  AddTable(c, "application_versions", {"version_id", "version_name", "version_timestamp", "created_at", "application_name"});
  AddTable(c, "queues", {"name", "concurrency", "worker_concurrency", "application_name"});
  AddTable(c, "dbos_migrations", {"version"});
  return c;
}

DrainError ErrorOf(const SchemaCatalog& c, const std::string& database = "appdb", const std::string& schema = "dbos") {
  try {
    ShapeFromCatalog(c, database, schema);
  } catch (const DrainError& e) {
    return e;
  }
  FAIL("expected a DrainError");
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("catalog: the newest shape has every feature", "[catalog]") {
  SchemaCatalog c = Newest();
  SchemaShape s = ShapeFromCatalog(c, "appdb", "dbos");
  CHECK(s.schema == "dbos");
  CHECK(s.database == "appdb");
  CHECK(s.has_application_name);
  CHECK(s.has_delay_until);
  CHECK(s.has_application_versions);
  CHECK(s.versions_have_application_name);
  CHECK(s.has_queues);
  CHECK(s.queues_have_worker_concurrency);
  CHECK(s.queues_have_application_name);
  CHECK_FALSE(s.migration);  // read separately: the catalog only says it can be
  CHECK(c.HasMigrations());
}

TEST_CASE("catalog: the minimal shape has none of the optional features", "[catalog]") {
  SchemaCatalog c = Minimal();
  SchemaShape s = ShapeFromCatalog(c, "olddb", "custom");
  CHECK(s.schema == "custom");
  CHECK(s.database == "olddb");
  CHECK_FALSE(s.has_application_name);
  CHECK_FALSE(s.has_delay_until);
  CHECK_FALSE(s.has_application_versions);
  CHECK_FALSE(s.versions_have_application_name);
  CHECK_FALSE(s.has_queues);
  CHECK_FALSE(s.queues_have_worker_concurrency);
  CHECK_FALSE(s.queues_have_application_name);
  CHECK_FALSE(c.HasMigrations());
}

TEST_CASE("catalog: a feature needs all of its columns", "[catalog]") {
  SECTION("application_versions without version_timestamp is not usable") {
    SchemaCatalog c = Minimal();
    AddTable(c, "application_versions", {"version_name", "application_name"});
    SchemaShape s = ShapeFromCatalog(c, "db", "dbos");
    CHECK_FALSE(s.has_application_versions);
    CHECK(s.versions_have_application_name);  // told apart: scoping follows the column alone
  }
  SECTION("queues without concurrency is not usable; worker_concurrency on its own") {
    SchemaCatalog c = Minimal();
    AddTable(c, "queues", {"name", "worker_concurrency"});
    SchemaShape s = ShapeFromCatalog(c, "db", "dbos");
    CHECK_FALSE(s.has_queues);
    CHECK(s.queues_have_worker_concurrency);
    CHECK_FALSE(s.queues_have_application_name);
  }
  SECTION("a column of another table does not count") {
    SchemaCatalog c = Minimal();
    AddTable(c, "queues", {"application_name", "delay_until_epoch_ms"});
    SchemaShape s = ShapeFromCatalog(c, "db", "dbos");
    CHECK_FALSE(s.has_application_name);
    CHECK_FALSE(s.has_delay_until);
    CHECK(s.queues_have_application_name);
  }
  SECTION("dbos_migrations without a version column is not read") {
    SchemaCatalog c = Minimal();
    c.Add("dbos_migrations", std::nullopt);  // a table the catalog lists without columns
    CHECK(c.HasTable("dbos_migrations"));
    CHECK_FALSE(c.HasMigrations());
  }
}

TEST_CASE("catalog: no workflow_status table is schema_not_found, naming database and schema", "[catalog][errors]") {
  SECTION("empty schema") {
    DrainError e = ErrorOf(SchemaCatalog{}, "appdb", "not_dbos");
    CHECK(e.code() == ErrorCode::kSchemaNotFound);
    CHECK(std::string(e.what()) ==
          "no DBOS system database found in database \"appdb\" schema \"not_dbos\": table "
          "not_dbos.workflow_status does not exist (wrong database, or pass --schema)");
  }
  SECTION("other DBOS tables without workflow_status") {
    SchemaCatalog c;
    AddTable(c, "application_versions", {"version_name", "version_timestamp"});
    AddTable(c, "queues", {"name", "concurrency"});
    CHECK(ErrorOf(c).code() == ErrorCode::kSchemaNotFound);
  }
  SECTION("a workflow_status the catalog lists without columns exists (so: unrecognized)") {
    SchemaCatalog c;
    c.Add("workflow_status", std::nullopt);
    CHECK(ErrorOf(c).code() == ErrorCode::kSchemaUnrecognized);
  }
}

TEST_CASE("catalog: each required column missing is schema_unrecognized naming it", "[catalog][errors]") {
  for (const char* missing : kRequired) {
    SchemaCatalog c;
    for (const char* col : kRequired) {
      if (std::string(col) != missing) c.Add("workflow_status", std::string(col));
    }
    AddTable(c, "application_versions", {"version_name", "version_timestamp"});
    DrainError e = ErrorOf(c, "appdb", "dbos");
    INFO(missing);
    CHECK(e.code() == ErrorCode::kSchemaUnrecognized);
    CHECK(std::string(e.what()) == std::string("unrecognized DBOS schema in database \"appdb\" schema \"dbos\": "
                                               "dbos.workflow_status has no column ") + missing);
  }
  SECTION("several missing: the first in the fixed order is named") {
    SchemaCatalog c;
    AddTable(c, "workflow_status", {"status", "queue_name"});
    CHECK_THAT(ErrorOf(c).what(), Catch::EndsWith("has no column application_version"));
  }
}
