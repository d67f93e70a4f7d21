// The lookup in workflow history for versions the report does not show (old schemas leave no
// other trace of a version that only has finished workflows). Nothing indexes
// application_version, so on a large history the lookup can exceed the query timeout: that
// must not cost the report, and the version stays unknown (not drained).
#include "db_helpers.h"

using namespace dbos_drain;
using namespace dbos_drain::dbtest;
using std::chrono::milliseconds;

TEST_CASE("a history lookup that times out keeps the report and leaves the version unknown", "[db][probe]") {
  TestDatabase db;
  db.InsertVersion("v1", 1000);
  db.InsertWorkflow(Workflow("PENDING").Version("v1"));
  // A history big enough that a full scan for an absent version takes well over 100 ms.
  db.Exec("INSERT INTO " + db.Table("workflow_status") +
          " (workflow_uuid, status, application_version, executor_id, created_at)"
          " SELECT 'old-' || i, 'SUCCESS', 'v0', 'e', i FROM generate_series(1, 2500000) AS i");
  db.Exec("ANALYZE " + db.Table("workflow_status"));

  ConnectionSettings s = SettingsFor(db);
  s.query_timeout = milliseconds(100);
  SystemDatabase reader(s);
  Snapshot snap = reader.Read({"does-not-exist"});
  Report report = BuildReport(snap, {});

  CHECK(snap.history_probe_timed_out);
  CHECK(snap.versions_probed.count("does-not-exist") == 1);
  CHECK(snap.versions_with_history.empty());
  // The report itself is whole: v1's in-flight row is there.
  VersionReport v1 = FindVersion(report, "v1", {});
  CHECK(v1.in_flight.pending == 1);
  CHECK_FALSE(v1.drained);
  VersionReport missing = FindVersion(report, "does-not-exist", {});
  CHECK_FALSE(missing.known);
  CHECK_FALSE(missing.drained);
  REQUIRE(missing.reason);
  CHECK(missing.reason->find("timed out") != std::string::npos);

  // With time enough, the same lookup finds a version that has only finished workflows.
  ConnectionSettings patient = SettingsFor(db);
  SystemDatabase reader2(patient);
  Snapshot found = reader2.Read({"v0"});
  CHECK_FALSE(found.history_probe_timed_out);
  CHECK(found.versions_with_history.count("v0") == 1);
  VersionReport v0 = FindVersion(BuildReport(found, {}), "v0", {});
  CHECK(v0.known);
  CHECK(v0.drained);
}
