// The crashed-v1-v2 database: rows a real DBOS TypeScript SDK 5.3.0 app left behind. The project's
// own fixture (test/fixtures/snapshot-crashed-v1-v2.sql) always runs; the original dump in
// ../shared/dbos runs too when that directory is next to the source tree, and both must give the
// same report.
#include "db_helpers.h"

#include <sys/stat.h>

#include "report_json.h"

using namespace dbos_drain;
using namespace dbos_drain::dbtest;

namespace {

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string SharedFile(const std::string& name) { return testing::SourceDir() + "/../shared/dbos/" + name; }

// The facts the issue states about this database.
void CheckCrashedV1V2(const Report& r) {
  REQUIRE(r.latest_version);
  CHECK(*r.latest_version == "v2");
  REQUIRE(r.versions.size() == 2);

  const auto& v1 = EntryOf(r, "v1");
  CHECK(v1.known);
  CHECK_FALSE(v1.latest);
  CHECK_FALSE(v1.drained);
  CHECK_FALSE(v1.reason);
  CHECK(v1.in_flight == StatusCounts{3, 4, 0});
  CHECK(v1.not_queued == StatusCounts{3, 0, 0});
  REQUIRE(v1.queues.size() == 1);
  CHECK(v1.queues.at("tasks") == StatusCounts{0, 4, 0});
  REQUIRE(v1.executors.size() == 1);
  CHECK(v1.executors.at("worker-v1") == StatusCounts{3, 4, 0});
  CHECK(v1.registered_at_ms == 1795677703560);
  CHECK(v1.oldest_in_flight_ms == 1795677703675);
  CHECK_THAT(SummaryLine(v1, r.as_of_ms), Catch::StartsWith("v1 not drained: 3 pending, 4 enqueued (tasks), oldest "));

  const auto& v2 = EntryOf(r, "v2");
  CHECK(v2.latest);
  CHECK(v2.known);
  CHECK_FALSE(v2.drained);
  CHECK(v2.in_flight == StatusCounts{1, 0, 0});
  CHECK(v2.executors.at("worker-v2") == StatusCounts{1, 0, 0});
  CHECK(v2.registered_at_ms == 1795677704135);

  CHECK(r.unassigned.total() == 0);
  REQUIRE(r.queues.count("tasks"));
  CHECK(r.queues.at("tasks").registered);
  CHECK(r.queues.at("tasks").worker_concurrency == 2);
  CHECK_FALSE(r.queues.at("tasks").concurrency);
  CHECK(r.queues.at("tasks").in_flight == StatusCounts{0, 4, 0});
  CHECK(r.shape.migration == 123);
}

// The report minus what differs between two databases read at different moments.
nlohmann::json Comparable(const Report& r) {
  nlohmann::json j = ReportToJson(r);
  j.erase("as_of");
  j.erase("statuses_checked_at");
  j["schema"].erase("database");
  for (auto& v : j["versions"]) {
    v.erase("oldest_in_flight_age_seconds");
    v.erase("summary");
  }
  return j;
}

}  // namespace

TEST_CASE("the project's crashed-v1-v2 fixture reads as the issue describes", "[db][snapshot]") {
  TestDatabase db("snapshot-crashed-v1-v2.sql");
  Report r = ReadReport(db, {"v1", "v2"});
  CheckCrashedV1V2(r);
  // The finished rows are there, and do not count.
  CHECK(db.Query("SELECT count(*) FROM dbos.workflow_status WHERE status IN ('SUCCESS', 'ERROR')")[0][0].as<int>() == 10);

  SECTION("scoped to its application: the same") {
    CheckCrashedV1V2(ReadReport(db, {"v1", "v2"}, std::string("dbos-app-starter")));
  }
  SECTION("scoped to another application: nothing of it is known, so nothing is drained") {
    Report other = ReadReport(db, {"v1", "v2"}, std::string("another-app"));
    CHECK(other.versions.empty());
    CHECK_FALSE(other.latest_version);
    CHECK_FALSE(FindVersion(other, "v1", {}).drained);
    CHECK_FALSE(FindVersion(other, "v1", {}).known);
  }
}

TEST_CASE("the original SDK dump in ../shared/dbos reads the same as the project's fixture", "[db][snapshot][shared]") {
  const std::string path = SharedFile("snapshot-ts-sdk-5.3.0-crashed-v1-v2.sql");
  if (!FileExists(path)) {
    WARN("skipped: " << path << " not found (the shared reference data sits next to the source tree in CI)");
    return;
  }
  TestDatabase shared("");
  shared.LoadSqlFile(path, std::nullopt);
  Report from_dump = ReadReport(shared, {"v1", "v2"});
  CheckCrashedV1V2(from_dump);

  TestDatabase own("snapshot-crashed-v1-v2.sql");
  Report from_fixture = ReadReport(own, {"v1", "v2"});
  CHECK(Comparable(from_dump) == Comparable(from_fixture));
}

TEST_CASE("the reference schemas in ../shared/dbos are recognized as the newest shape", "[db][snapshot][shared]") {
  for (const char* file : {"schema-ts-sdk-5.3.0.sql", "schema-py-migration-108.sql"}) {
    DYNAMIC_SECTION(file) {
      const std::string path = SharedFile(file);
      if (!FileExists(path)) {
        WARN("skipped: " << path << " not found");
        continue;
      }
      TestDatabase db("");
      db.LoadSqlFile(path, std::nullopt);
      db.InsertVersion("v1", testing::AgoMs(std::chrono::hours(1)));
      db.InsertWorkflow(Workflow("ENQUEUED").Version("v1").Queue("tasks"));
      Report r = ReadReport(db);
      CHECK(r.shape.has_application_versions);
      CHECK(r.shape.has_queues);
      CHECK(r.shape.has_application_name);
      CHECK(r.shape.has_delay_until);
      CHECK(r.shape.queues_have_worker_concurrency);
      CHECK(*r.latest_version == "v1");
      CHECK(EntryOf(r, "v1").in_flight.enqueued == 1);
    }
  }
}
