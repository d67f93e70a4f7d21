// PatchReader + the patch policy against a real PostgreSQL (test/support/patch_scenario.h):
// every count and flag, the history cache, the application scope and the old-shape errors.
#include "db_helpers.h"
#include "patch_reader.h"
#include "patch_scenario.h"

using namespace dbos_drain;
using namespace dbos_drain::dbtest;
using testing::LoadPatchScenario;
using testing::Step;

namespace {

PatchesReport ReadPatches(PatchReader& reader, PatchOptions options = {}) {
  return BuildPatchesReport(reader.Read(), options);
}

}  // namespace

TEST_CASE("patches: counts and flags on SDK-shaped rows", "[db][patch]") {
  TestDatabase db;
  const auto scenario = LoadPatchScenario(db);
  SystemDatabase sys(SettingsFor(db));
  PatchReader reader(sys);
  PatchesReport r = ReadPatches(reader);
  CHECK(reader.last_history_read() == "full");
  CHECK(r.history_complete);
  REQUIRE(r.patches.size() == 2);

  const PatchReport& audit = r.patches[0];
  CHECK(audit.name == "audit-log");
  CHECK(audit.functions == std::set<std::string>{"nightlyReport"});
  CHECK(audit.in_flight_with_marker == 0);
  CHECK(audit.blocking_deprecation == 0);
  CHECK(audit.safe_to_deprecate);
  CHECK(audit.safe_to_remove);
  CHECK(audit.blockers.empty());

  const PatchReport& fast = r.patches[1];
  CHECK(fast.name == "fast-path");
  CHECK(fast.functions == std::set<std::string>{"checkout"});
  CHECK(fast.positions.at("checkout") == std::set<int>{1});
  CHECK(fast.first_recorded_ms == scenario.fast_path_first_ms);  // from the finished workflow
  CHECK(fast.first_recorded_exact);
  CHECK(fast.in_flight_with_marker == 1);
  REQUIRE(fast.with_marker.size() == 1);
  CHECK(fast.with_marker[0].id == "marked");
  CHECK(fast.blocking_deprecation == 3);
  REQUIRE(fast.blocking.size() == 3);
  CHECK(fast.blocking[0].id == "resumed");     // ENQUEUED on _dbos_internal_queue, old history
  CHECK(fast.blocking[1].id == "old-recv");    // in recv at the patch position: no row there
  CHECK(fast.blocking[2].id == "old-branch");  // chargeCard at the patch position
  CHECK_FALSE(fast.safe_to_deprecate);
  CHECK_FALSE(fast.safe_to_remove);
  REQUIRE(fast.blockers.size() == 2);
  CHECK(fast.blockers[0].code == "blocking_deprecation");
  CHECK_THAT(fast.blockers[0].message, Catch::Contains("resumed (checkout, ENQUEUED, 6h") &&
                                           Catch::Contains("old-recv (checkout, PENDING, 5h"));
  CHECK(fast.blockers[1].code == "in_flight_with_marker");
  CHECK_THAT(fast.blockers[1].message, Catch::Contains("marked (checkout, PENDING, 2h"));
}

TEST_CASE("patches: the history is read once, then only new markers", "[db][patch]") {
  TestDatabase db;
  LoadPatchScenario(db);
  SystemDatabase sys(SettingsFor(db));
  PatchReader reader(sys);
  ReadPatches(reader);
  CHECK(reader.last_history_read() == "full");

  // A new patch recorded now by a workflow that finishes at once: found by the incremental read.
  db.InsertWorkflow(Workflow("SUCCESS").Id("new-done").Name("signup"));
  db.InsertStep(Step::Marker("new-done", 0, "welcome-mail"));
  PatchesReport r = ReadPatches(reader);
  CHECK(reader.last_history_read() == "incremental");
  PatchReport welcome = FindPatch(r, "welcome-mail");
  CHECK(welcome.known);
  CHECK(welcome.functions == std::set<std::string>{"signup"});
  CHECK(welcome.first_recorded_exact);

  // A marker older than the incremental window is not seen again: the cache keeps what the full
  // read found, and the workflows finishing does not make the patch disappear.
  db.SetStatus("marked", "SUCCESS");
  r = ReadPatches(reader);
  PatchReport fast = FindPatch(r, "fast-path");
  CHECK(fast.known);
  CHECK(fast.in_flight_with_marker == 0);
  CHECK(fast.safe_to_remove);
  CHECK_FALSE(fast.safe_to_deprecate);

  // Finishing the three blockers makes it safe to deprecate.
  for (const char* id : {"old-recv", "old-branch", "resumed"}) db.SetStatus(id, "SUCCESS");
  fast = FindPatch(ReadPatches(reader), "fast-path");
  CHECK(fast.blocking_deprecation == 0);
  CHECK(fast.safe_to_deprecate);
  CHECK(fast.blockers.empty());
}

TEST_CASE("patches: a workflow started in the rollout overlap, before its marker", "[db][patch]") {
  TestDatabase db;
  const auto scenario = LoadPatchScenario(db);
  // Started 10 minutes after the first marker (an old pod during the rollout), not at the patch yet.
  db.InsertWorkflow(Workflow("PENDING").Id("overlap").Name("checkout").CreatedAt(scenario.fast_path_first_ms + 600'000));
  SystemDatabase sys(SettingsFor(db));
  PatchReader reader(sys);
  PatchOptions o;
  CHECK(FindPatch(ReadPatches(reader, o), "fast-path").blocking_deprecation == 4);
  o.overlap = std::chrono::minutes(5);
  CHECK(FindPatch(ReadPatches(reader, o), "fast-path").blocking_deprecation == 3);
}

TEST_CASE("patches: --application scopes the workflows read", "[db][patch]") {
  TestDatabase db;
  LoadPatchScenario(db);
  db.InsertWorkflow(Workflow("PENDING").Id("other-app-old").Name("checkout").Application("billing").CreatedAgo(std::chrono::hours(9)));
  SystemDatabase all(SettingsFor(db));
  PatchReader all_reader(all);
  CHECK(FindPatch(ReadPatches(all_reader), "fast-path").blocking_deprecation == 4);
  SystemDatabase scoped(SettingsFor(db, std::string("shop")));
  PatchReader scoped_reader(scoped);
  CHECK(FindPatch(ReadPatches(scoped_reader), "fast-path").blocking_deprecation == 3);
}

TEST_CASE("patches: schemas without the operation_outputs columns patching needs are an error", "[db][patch]") {
  SECTION("TS 3.x shape: no operation_outputs table") {
    TestDatabase db("schema-ts-3x.sql");
    SystemDatabase sys(SettingsFor(db));
    PatchReader reader(sys);
    DrainError e = ExpectDrainError([&] { reader.Read(); });
    CHECK(e.code() == ErrorCode::kSchemaUnrecognized);
    CHECK_THAT(e.what(), Catch::Contains("operation_outputs does not exist"));
    // The version report is unaffected.
    CHECK_NOTHROW(sys.Read());
  }
  SECTION("an early operation_outputs without function_name") {
    TestDatabase db("schema-ts-3x.sql");
    db.Exec("CREATE TABLE dbos.operation_outputs (workflow_uuid text NOT NULL, function_id int NOT NULL, output text,"
            " error text, child_workflow_id text, started_at_epoch_ms bigint, completed_at_epoch_ms bigint,"
            " PRIMARY KEY (workflow_uuid, function_id))");
    SystemDatabase sys(SettingsFor(db));
    PatchReader reader(sys);
    DrainError e = ExpectDrainError([&] { reader.Read(); });
    CHECK(e.code() == ErrorCode::kSchemaUnrecognized);
    CHECK(std::string(ErrorCodeName(e.code())) == "schema_unrecognized");
    CHECK_THAT(e.what(), Catch::Contains("operation_outputs has no column function_name"));
  }
}

TEST_CASE("patches: a full history read past the query timeout leaves the history incomplete", "[db][patch]") {
  TestDatabase db;
  LoadPatchScenario(db);
  // A statement_timeout far too short for a full read of 2M rows (hundreds of ms), long enough
  // for the in-flight read of 8 workflows by primary key (about 1 ms).
  db.Exec("INSERT INTO dbos.operation_outputs (workflow_uuid, function_id, function_name, started_at_epoch_ms,"
          " completed_at_epoch_ms) SELECT 'bulk-' || g, 0, 'step', g, g FROM generate_series(1, 2000000) g;"
          " ANALYZE dbos.operation_outputs");
  auto settings = SettingsFor(db);
  settings.query_timeout = std::chrono::milliseconds(60);
  SystemDatabase sys(settings);
  PatchReader reader(sys);
  PatchSnapshot snap = reader.Read();
  CHECK(reader.last_history_read() == "timed_out");
  CHECK_FALSE(snap.history_complete);
  PatchReport fast = FindPatch(BuildPatchesReport(snap, {}), "fast-path");
  CHECK(fast.known);  // from the marker held in flight
  CHECK_FALSE(fast.first_recorded_exact);
  CHECK(fast.blocking_deprecation == 3);  // first recorded is later: never fewer blockers
}

TEST_CASE("patches: Go and Java markers (NULL times) count, and are never dated by a made-up time", "[db][patch]") {
  TestDatabase db;
  db.InsertWorkflow(Workflow("SUCCESS").Id("go-done").Name("checkout").CreatedAgo(std::chrono::hours(3)));
  db.InsertStep(Step::GoMarker("go-done", 1, "go-path"));
  db.InsertWorkflow(Workflow("PENDING").Id("java-running").Name("checkout").CreatedAgo(std::chrono::hours(1)));
  const int64_t java_at = testing::AgoMs(std::chrono::minutes(30));
  db.InsertStep(Step::JavaMarker("java-running", 2, "java-path").At(java_at));
  SystemDatabase sys(SettingsFor(db));
  PatchReader reader(sys);
  PatchesReport r = ReadPatches(reader);
  REQUIRE(r.patches.size() == 2);

  const PatchReport& go = r.patches[0];
  CHECK(go.name == "go-path");
  CHECK(go.positions.at("checkout") == std::set<int>{1});
  CHECK_FALSE(go.first_recorded_ms);  // no time on the marker: none claimed
  CHECK_FALSE(go.first_recorded_exact);

  const PatchReport& java = r.patches[1];
  CHECK(java.name == "java-path");
  CHECK(java.first_recorded_ms == std::optional<int64_t>(java_at));  // started (completed is NULL)
  CHECK(java.first_recorded_exact);
  CHECK(java.in_flight_with_marker == 1);

  // The incremental read (by completion time) still sees markers without one.
  db.InsertWorkflow(Workflow("SUCCESS").Id("go-later").Name("refund").CreatedAgo(std::chrono::minutes(5)));
  db.InsertStep(Step::GoMarker("go-later", 3, "go-path"));
  // A SUSPENDED workflow holding a marker is in flight with it (issue 22).
  db.InsertWorkflow(Workflow("SUSPENDED").Id("go-suspended").Name("checkout").CreatedAgo(std::chrono::minutes(50)));
  db.InsertStep(Step::GoMarker("go-suspended", 1, "go-path"));
  PatchesReport again = ReadPatches(reader);
  CHECK(reader.last_history_read() == "incremental");
  REQUIRE(again.patches.size() == 2);
  CHECK(again.patches[0].positions.at("refund") == std::set<int>{3});
  CHECK(again.patches[0].in_flight_with_marker == 1);
  REQUIRE(again.patches[0].with_marker.size() == 1);
  CHECK(again.patches[0].with_marker[0].id == "go-suspended");
  CHECK(again.patches[0].with_marker[0].status == "SUSPENDED");
  CHECK_FALSE(again.patches[0].first_recorded_ms);
}
