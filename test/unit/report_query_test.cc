// The SQL text dbos-drain runs (lib/db/report_query.h). The database tests run it for real; these
// pin the properties that matter: partial-index predicates, scoping, quoting, shape fitting.
#include <catch2/catch.hpp>

#include "policy_fixtures.h"
#include "report_query.h"
#include "sql_text.h"

using namespace dbos_drain;
using namespace dbos_drain::unit;

namespace {

// The in-flight branches: the parts of the UNION that read workflow_status.
std::vector<std::string> InFlightBranches(const std::string& sql) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t end = sql.find("\nUNION ALL\n", start);
    std::string part = sql.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (part.find(".workflow_status") != std::string::npos) out.push_back(part);
    if (end == std::string::npos) break;
    start = end + 11;
  }
  return out;
}

}  // namespace

TEST_CASE("the in-flight scan is one OR of the predicates of the partial indexes", "[query]") {
  for (bool scoped : {false, true}) {
    std::string sql = BuildReportQuery(NewestShape(), scoped);
    auto branches = InFlightBranches(sql);
    // One scan, one aggregate: the planner picks a BitmapOr of both partial indexes for a small
    // backlog and one (parallel) sequential scan for a large one (bench/: the UNION of one branch
    // per index read the heap twice at 1M in flight).
    REQUIRE(branches.size() == 1);
    const std::string& b = branches[0];
    // idx_workflow_status_in_flight[_v2] ... WHERE status IN ('ENQUEUED', 'PENDING') and
    // idx_workflow_status_delayed ... WHERE status = 'DELAYED': each arm implies one predicate.
    CHECK_THAT(b, Catch::Contains("WHERE (status IN ('ENQUEUED', 'PENDING') OR status = 'DELAYED')"));
    // Plain columns, no per-row expression (hashing expressions costs per in-flight row).
    CHECK_THAT(b, Catch::Contains("GROUP BY application_version, queue_name, executor_id, status"));
    CHECK_THAT(b, !Catch::Contains("NULLIF"));
    CHECK_THAT(b, !Catch::Contains("COALESCE"));
    CHECK_THAT(b, Catch::Contains("min(created_at)"));
    CHECK_THAT(b, !Catch::Contains("application_version ="));  // no index on it: never filter by it
  }
}

TEST_CASE("small backlogs read each partial index in its own branch", "[query]") {
  for (bool scoped : {false, true}) {
    std::string sql = BuildReportQuery(NewestShape(), scoped, InFlightScan::kIndexScans);
    auto branches = InFlightBranches(sql);
    REQUIRE(branches.size() == 1);  // one aggregate over both branches
    const std::string& b = branches[0];
    // Each branch implies the predicate of one partial index, so each can be a plain index scan.
    CHECK_THAT(b, Catch::Contains(".workflow_status WHERE status IN ('ENQUEUED', 'PENDING')"));
    CHECK_THAT(b, Catch::Contains(".workflow_status WHERE status = 'DELAYED'"));
    CHECK_THAT(b, !Catch::Contains(" OR status"));
    CHECK_THAT(b, Catch::Contains("GROUP BY application_version, queue_name, executor_id, status"));
    CHECK(Count(b, "(application_name = $1 OR application_name IS NULL)") == (scoped ? 2u : 0u));
  }
}

TEST_CASE("application scoping adds $1 only where the column exists", "[query]") {
  std::string unscoped = BuildReportQuery(NewestShape(), false);
  CHECK(Count(unscoped, "$1") == 0);
  // Only as the registered versions' and queues' application (issue 22), never as a filter.
  CHECK(Count(unscoped, "application_name") == 2);
  CHECK_THAT(unscoped, Catch::Contains("SELECT 'q', NULL, name, application_name::text,"));
  CHECK_THAT(unscoped, Catch::Contains("SELECT 'v', version_name, NULL, application_name::text,"));

  std::string scoped = BuildReportQuery(NewestShape(), true);
  // The workflow_status scan, application_versions and queues.
  CHECK(Count(scoped, "(application_name = $1 OR application_name IS NULL)") == 3);
  for (const auto& b : InFlightBranches(scoped)) {
    CHECK_THAT(b, Catch::Contains("AND (application_name = $1 OR application_name IS NULL)"));
  }

  SchemaShape no_column = NewestShape();
  no_column.has_application_name = false;
  CHECK(Count(BuildReportQuery(no_column, true), "$1") == 0);

  SchemaShape only_ws = NewestShape();
  only_ws.versions_have_application_name = false;
  only_ws.queues_have_application_name = false;
  CHECK(Count(BuildReportQuery(only_ws, true), "$1") == 1);
}

TEST_CASE("optional tables are read only when they exist", "[query]") {
  std::string newest = BuildReportQuery(NewestShape(), false);
  CHECK_THAT(newest, Catch::Contains("FROM \"dbos\".application_versions"));
  CHECK_THAT(newest, Catch::Contains("FROM \"dbos\".queues"));
  CHECK_THAT(newest, Catch::Contains("worker_concurrency::bigint"));
  CHECK_THAT(newest, Catch::Contains("SELECT 'n'"));

  std::string old = BuildReportQuery(OldShape(), true);
  CHECK_THAT(old, !Catch::Contains("application_versions"));
  CHECK_THAT(old, !Catch::Contains("queues"));
  CHECK_THAT(old, Catch::Contains("SELECT 'n'"));

  SchemaShape no_worker = NewestShape();
  no_worker.queues_have_worker_concurrency = false;
  CHECK_THAT(BuildReportQuery(no_worker, false), !Catch::Contains("worker_concurrency"));
}

TEST_CASE("the schema name is quoted as an identifier", "[query]") {
  CHECK(QualifiedTable("dbos", "workflow_status") == "\"dbos\".workflow_status");
  CHECK(QualifiedTable("my\"schema", "queues") == "\"my\"\"schema\".queues");
  SchemaShape s = NewestShape();
  s.schema = "Sys \"x\"; DROP TABLE t; --";
  std::string sql = BuildReportQuery(s, false);
  CHECK_THAT(sql, Catch::Contains("FROM \"Sys \"\"x\"\"; DROP TABLE t; --\".workflow_status"));
  CHECK(Count(sql, "FROM \"Sys \"\"x\"\"; DROP TABLE t; --\".") == 3);
}

TEST_CASE("the history probe takes the versions as one text[] parameter", "[query]") {
  std::string probe = BuildHistoryProbeQuery(NewestShape(), false);
  CHECK_THAT(probe, Catch::Contains("unnest($1::text[])"));
  CHECK_THAT(probe, Catch::Contains("FROM \"dbos\".workflow_status WHERE application_version = v"));
  CHECK(Count(probe, "$2") == 0);
  CHECK_THAT(BuildHistoryProbeQuery(NewestShape(), true), Catch::Contains("(application_name = $2 OR application_name IS NULL)"));
  CHECK(Count(BuildHistoryProbeQuery(OldShape(), true), "$2") == 0);
}

TEST_CASE("the schema is detected from pg_catalog with the schema as a parameter", "[query]") {
  std::string q = kSchemaShapeQuery;
  CHECK_THAT(q, Catch::Contains("pg_catalog.pg_class"));
  CHECK_THAT(q, !Catch::Contains("information_schema"));
  CHECK_THAT(q, Catch::Contains("n.nspname = $1"));
}

TEST_CASE("the status check reads every status that is neither in flight by index nor finished", "[query]") {
  SchemaShape shape = NewestShape();
  const std::string sql = BuildStatusCheckQuery(shape, false);
  CHECK_THAT(sql, Catch::Contains("status IS NULL OR status NOT IN ('PENDING', 'ENQUEUED', 'DELAYED', 'SUCCESS', 'ERROR', "
                                  "'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED', 'RETRIES_EXCEEDED')"));
  CHECK_THAT(sql, !Catch::Contains("SUSPENDED"));  // read by the check, never excluded
  CHECK_THAT(sql, Catch::Contains("AS status_check_kind"));  // told from the report query by tests and bench/
  CHECK_THAT(sql, !Catch::Contains("$1"));
  CHECK_THAT(BuildStatusCheckQuery(shape, true), Catch::Contains("AND (application_name = $1 OR application_name IS NULL)"));
  shape.has_application_name = false;
  CHECK_THAT(BuildStatusCheckQuery(shape, true), !Catch::Contains("$1"));
  CHECK(std::string(kStatusCheckSettings) == "SET LOCAL max_parallel_workers_per_gather = 2");
}
