// Issue 24, end to end with the real binary: `status --keep` and `wait --keep` (the set verdict,
// lib/core/fleet_retire.h) and rollbacks that reuse an old version string, with rows and
// statements shaped like the SDK's.
#include "cli_helpers.h"

using namespace dbos_drain::clitest;
using dbos_drain::testing::AgoMs;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

// v1: drained 3 days ago (hidden by default); v2: superseded, 2 PENDING; v3: latest.
std::vector<std::string> ThreeVersions(const TestDatabase& db) {
  db.InsertVersion("v1", AgoMs(hours(72)));
  db.InsertVersion("v2", AgoMs(hours(2)));
  db.InsertVersion("v3", AgoMs(minutes(10)));
  db.InsertWorkflow(Workflow("SUCCESS").Version("v1").CreatedAgo(hours(70)).CompletedAgo(hours(70)));
  return db.InsertWorkflows(2, Workflow("PENDING").Version("v2").Executor("pod-v2").CreatedAgo(hours(1)));
}

std::vector<std::string> Judged(const nlohmann::json& j) { return j.at("judged").get<std::vector<std::string>>(); }

}  // namespace

TEST_CASE("status --keep: exit 0 only when every other version is safe to retire", "[cli][keep]") {
  TestDatabase db;
  const auto rows = ThreeVersions(db);

  ProcessResult r = RunDrain(Args({"status", "--keep", "v3", "--json"}, db));
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  nlohmann::json j = ParseJson(r);
  CHECK(j.at("safe_to_retire") == false);
  CHECK(Judged(j) == std::vector<std::string>{"v1", "v2"});  // v1 hidden by default, judged anyway
  REQUIRE(j.at("blockers").size() == 1);
  CHECK(j.at("blockers")[0].at("version") == "v2");
  CHECK(j.at("blockers")[0].at("code") == "in_flight");

  ProcessResult text = RunDrain(Args({"status", "--keep", "v3"}, db));
  CHECK(text.exit_code == 1);
  CHECK_THAT(text.out, Catch::Contains("not safe to retire every version but v3 (judged: v1, v2)"));
  CHECK_THAT(text.out, Catch::Contains("v2: in_flight: 2 workflows of v2 in flight"));

  // Keep not registered yet: the latest is judged and blocks.
  ProcessResult fresh = RunDrain(Args({"status", "--keep", "v4", "--json"}, db));
  CHECK(fresh.exit_code == 1);
  nlohmann::json f = ParseJson(fresh);
  CHECK(Judged(f) == std::vector<std::string>{"v1", "v2", "v3"});
  bool latest_blocks = false;
  for (const auto& b : f.at("blockers")) latest_blocks |= b.at("version") == "v3" && b.at("code") == "latest";
  CHECK(latest_blocks);

  // Bad keeps: exit 2, a clear message.
  for (const auto& bad : std::vector<std::vector<std::string>>{{"status", "--keep", ""},
                                                               {"status", "--keep", "a,,b"},
                                                               {"status", "v1", "--keep", "v3"}}) {
    std::vector<std::string> args = bad;
    args.push_back("--database-url");
    args.push_back(db.url());
    ProcessResult e = RunDrain(args);
    INFO(e.Describe());
    CHECK(e.exit_code == 2);
    CHECK_THAT(e.err, Catch::Contains("keep"));
  }

  for (const auto& id : rows) db.Finish(id);
  ProcessResult safe = RunDrain(Args({"status", "--keep", "v3"}, db));
  INFO(safe.Describe());
  CHECK(safe.exit_code == 0);
  CHECK_THAT(safe.out, Catch::Contains("safe to retire every version but v3 (judged: v1, v2)"));
}

TEST_CASE("wait --keep returns once every other version is safe to retire", "[cli][keep]") {
  TestDatabase db;
  const auto rows = ThreeVersions(db);
  BackgroundProcess wait({dbos_drain::testing::DrainBinary(), "wait", "--keep", "v3", "--interval", "500ms",
                          "--timeout", "1m", "--database-url", db.url()});
  REQUIRE(wait.WaitForOutput("v2: in_flight", seconds(10)));
  CHECK(wait.Running());
  for (const auto& id : rows) db.Finish(id);
  ProcessResult r = wait.Wait(seconds(10));
  INFO(r.Describe());
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("safe to retire every version but: v3"));

  ProcessResult both = RunDrain(Args({"wait", "v1", "--keep", "v3"}, db));
  CHECK(both.exit_code == 2);
}

// A rollback that reuses an old hash (kubectl argo rollouts undo, Flagger's revert): the old
// version's workers launch again and register it as the SDK does, ON CONFLICT DO NOTHING, so its
// version_timestamp stays old and DBOS's latest stays the version rolled back from. dbos-drain
// shows exactly that until the user promotes the old version (setLatestApplicationVersion, the
// client, or Conductor), which sets version_timestamp = now.
TEST_CASE("rollback to an old version string: latest stays the newer one until it is promoted", "[cli][keep][rollback]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(hours(2)));
  db.InsertVersion("v2", AgoMs(hours(1)));
  // The rollback: v1's pods launch again and register v1 the SDK's way.
  db.Exec("INSERT INTO dbos.application_versions (version_id, version_name) VALUES (gen_random_uuid()::text, 'v1') "
          "ON CONFLICT (version_name) DO NOTHING");
  // A client enqueue without a version: only the latest version's workers (v2's) take it.
  db.InsertWorkflow(Workflow("ENQUEUED").Version(std::nullopt).Queue("tasks").Executor(std::string("")).CreatedAgo(minutes(10)));

  ProcessResult r = RunDrain(Args({"status", "--json", "--all"}, db));
  nlohmann::json report = ParseJson(r);
  CHECK(report.at("latest_version") == "v2");
  const auto& v2 = VersionIn(report, "v2");
  CHECK(v2.at("latest") == true);
  CHECK(v2.at("unassigned_in_flight") == 1);
  // Keeping only the rolled-back-to version: v2 is judged and blocks as latest (and holds the row).
  ProcessResult keep = RunDrain(Args({"status", "--keep", "v1", "--json"}, db));
  CHECK(keep.exit_code == 1);
  nlohmann::json k = ParseJson(keep);
  std::vector<std::string> v2_codes;
  for (const auto& b : k.at("blockers")) {
    if (b.at("version") == "v2") v2_codes.push_back(b.at("code"));
  }
  CHECK(v2_codes == std::vector<std::string>{"latest", "in_flight"});

  // Promotion (setLatestApplicationVersion / Conductor `app set-version`): version_timestamp = now.
  db.Exec("UPDATE dbos.application_versions SET version_timestamp = (extract(epoch FROM now()) * 1000)::bigint "
          "WHERE version_name = 'v1'");
  nlohmann::json after = ParseJson(RunDrain(Args({"status", "--json", "--all"}, db)));
  CHECK(after.at("latest_version") == "v1");
  CHECK(VersionIn(after, "v1").at("unassigned_in_flight") == 1);  // the NULL-version row is v1's now
  ProcessResult promoted = RunDrain(Args({"status", "--keep", "v1"}, db));
  INFO(promoted.Describe());
  CHECK(promoted.exit_code == 0);  // v2: not latest, nothing in flight, no recent start
}
