// Issue 12, safe to retire, end to end: the real binary against a real PostgreSQL with rows shaped
// like the SDK's, every CLI gate (status exit codes, --retirable, --json, the table, wait) agreeing
// with `safe_to_retire`, and executors' `connected` from real sessions carrying the TypeScript
// SDK's application_name, read as the read-only role of examples/sql.
#include "cli_helpers.h"

#include <unistd.h>

#include <pqxx/pqxx>

using namespace dbos_drain::clitest;
using dbos_drain::testing::AdminUrl;
using dbos_drain::testing::AgoMs;
using dbos_drain::testing::RoleGuard;
using dbos_drain::testing::SourceDir;
using dbos_drain::testing::RunProcess;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

const nlohmann::json& Entry(const nlohmann::json& report, const std::string& version) { return VersionIn(report, version); }

// Every CLI gate on the same data: status V's exit code, --retirable, the JSON and the table.
void CheckGatesAgree(const TestDatabase& db, const std::string& version, bool safe,
                     std::initializer_list<std::string> extra = {}) {
  std::vector<std::string> args{"status", version};
  args.insert(args.end(), extra.begin(), extra.end());
  auto with_db = [&](std::vector<std::string> a) {
    a.push_back("--database-url");
    a.push_back(db.url());
    return a;
  };
  ProcessResult status = RunDrain(with_db(args));
  INFO(status.Describe());
  CHECK(status.exit_code == (safe ? 0 : 1));
  CHECK(ParseTable(status.out).at(0)["RETIRE"] == (safe ? "safe" : "no"));
  std::vector<std::string> json_args = args;
  json_args.push_back("--json");
  ProcessResult json = RunDrain(with_db(json_args));
  CHECK(json.exit_code == status.exit_code);
  const nlohmann::json report = ParseJson(json);
  const auto& v = Entry(report, version);
  CHECK(v.at("safe_to_retire") == safe);
  CHECK(v.at("blockers").empty() == safe);
  CHECK((v.at("retire_hold") == 0) == safe);
  std::vector<std::string> retirable{"status", "--retirable"};
  retirable.insert(retirable.end(), extra.begin(), extra.end());
  ProcessResult names = RunDrain(with_db(retirable));
  INFO(names.Describe());
  CHECK(names.exit_code == 0);
  auto lines = Lines(names.out);
  CHECK((std::find(lines.begin(), lines.end(), version) != lines.end()) == safe);
}

}  // namespace

TEST_CASE("retire: a version whose workflows keep starting is never safe, though often nothing is in flight",
          "[cli][retire]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(hours(2)));
  db.InsertVersion("v2", AgoMs(hours(1)));
  // v1's pods still start short workflows: each finishes at once, so at any read nothing is in
  // flight (the raw `drained` is true) yet the last start is seconds old.
  for (int i = 0; i < 3; ++i) {
    db.InsertWorkflow(Workflow("SUCCESS").Version("v1").Name("checkout").CreatedAgo(seconds(5 + i)).CompletedAgo(seconds(4 + i)));
  }
  db.InsertWorkflow(Workflow("SUCCESS").Version("v1").Name("consume").Id("kafka-unique-id-orders-0-g-17").CreatedAgo(seconds(20)).CompletedAgo(seconds(19)));
  db.InsertWorkflow(Workflow("SUCCESS").Version("v1").Name("nightly").Id("sched-nightly-2026-12-01T20:00:00.000Z").CreatedAgo(seconds(30)).CompletedAgo(seconds(29)));
  db.InsertWorkflow(Workflow("SUCCESS").Version("v1").Name("checkout").Executor(std::string("")).CreatedAgo(seconds(40)).CompletedAgo(seconds(39)));
  db.InsertWorkflow(Workflow("SUCCESS").Version("v1").Name("checkout").ForkedFrom("wf-0").CreatedAgo(seconds(50)).CompletedAgo(seconds(49)));

  ProcessResult r = RunDrain(Args({"status", "v1", "--json"}, db));
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  const nlohmann::json doc = ParseJson(r);
  const nlohmann::json v1 = Entry(doc, "v1");
  CHECK(v1.at("drained") == true);
  CHECK(v1.at("safe_to_retire") == false);
  CHECK(v1.at("phase") == "active");
  CHECK(v1.at("blockers").size() == 1);
  CHECK(v1.at("blockers").at(0).at("code") == "recent_intake");
  CHECK(v1.at("intake").at("window_seconds") == 120);
  CHECK(v1.at("intake").at("started") == 7);
  CHECK(v1.at("intake").at("by_name") == nlohmann::json{{"checkout", 5}, {"consume", 1}, {"nightly", 1}});
  CHECK(v1.at("intake").at("by_kind") ==
        nlohmann::json{{"other", 3}, {"kafka", 1}, {"scheduled", 1}, {"client_enqueue", 1}, {"fork", 1}});
  CHECK(v1.at("retire_hold") == 7);
  CHECK(v1.at("finished_in_window") == 7);
  CHECK(v1.at("drained_since").is_string());
  CheckGatesAgree(db, "v1", false);
  // The latest version is never retirable, whatever its counts.
  CheckGatesAgree(db, "v2", false);
  const nlohmann::json v2doc = ParseJson(RunDrain(Args({"status", "v2", "--json"}, db)));
  CHECK(Entry(v2doc, "v2").at("phase") == "latest");
}

TEST_CASE("retire: safe a quiet period after the last start, not before", "[cli][retire]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(hours(2)));
  db.InsertVersion("v2", AgoMs(hours(1)));
  db.InsertWorkflow(Workflow("SUCCESS").Version("v1").CreatedAgo(seconds(3)).CompletedAgo(seconds(2)));
  // With a 6s quiet period the start 3s ago still blocks; wait returns once 6s have passed.
  CheckGatesAgree(db, "v1", false, {"--quiet-period", "6s"});
  const auto begun = std::chrono::steady_clock::now();
  ProcessResult w = RunDrain(Args({"wait", "v1", "--quiet-period", "6s", "--interval", "500ms", "--timeout", "30s"}, db));
  INFO(w.Describe());
  CHECK(w.exit_code == 0);
  CHECK(std::chrono::steady_clock::now() - begun >= milliseconds(2000));  // not before ~3s more
  CHECK_THAT(w.out, Catch::Contains("v1: active, 1 started in the last 6s"));
  CHECK_THAT(w.out, Catch::Contains("safe to retire: v1"));
  CheckGatesAgree(db, "v1", true, {"--quiet-period", "6s"});
  // The default 2m still holds it.
  CheckGatesAgree(db, "v1", false);
}

TEST_CASE("retire: unknown and patching versions are never safe", "[cli][retire]") {
  TestDatabase db;
  db.InsertVersion("PATCHING_ENABLED", AgoMs(hours(3)));
  db.InsertVersion("v2", AgoMs(hours(1)));
  CheckGatesAgree(db, "PATCHING_ENABLED", false);
  CheckGatesAgree(db, "v-typo", false);
  CheckGatesAgree(db, "v-typo", false, {"--unknown-version=drained"});
  const nlohmann::json pdoc = ParseJson(RunDrain(Args({"status", "PATCHING_ENABLED", "--json"}, db)));
  const nlohmann::json p = Entry(pdoc, "PATCHING_ENABLED");
  CHECK(p.at("blockers").at(0).at("code") == "patching");
}

TEST_CASE("retire: --retirable prints only the names of the safe versions", "[cli][retire]") {
  TestDatabase db;
  db.InsertVersion("v0", AgoMs(hours(4)));
  db.InsertVersion("v1", AgoMs(hours(3)));
  db.InsertVersion("v2", AgoMs(hours(1)));
  db.InsertWorkflow(Workflow("PENDING").Version("v1").CreatedAgo(hours(2)));
  ProcessResult r = RunDrain(Args({"status", "--retirable"}, db));
  INFO(r.Describe());
  CHECK(r.exit_code == 0);
  CHECK(r.out == "v0\n");
}

TEST_CASE("retire: stuck with real sessions carrying the TS SDK's application_name, read by the examples/sql role",
          "[cli][retire][privilege]") {
  RoleGuard guard{"dd_retire_ro_" + std::to_string(getpid())};
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(hours(2)));
  db.InsertVersion("v2", AgoMs(hours(1)));
  db.InsertWorkflows(2, Workflow("PENDING").Version("v1").Executor("pod-a").CreatedAgo(minutes(10)));
  const std::string password = "ro-pass-" + std::to_string(getpid());
  ProcessResult made =
      RunProcess({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "schema=dbos", "-v", "role=" + guard.role, "-v",
                  "password=" + password, "-f", SourceDir() + "/examples/sql/readonly-role.sql", "-d", db.url()});
  INFO(made.Describe());
  REQUIRE(made.exit_code == 0);
  const std::string ro = db.UrlAs(guard.role, password);
  auto read = [&] {
    ProcessResult r = RunDrain({"status", "v1", "--json", "--database-url", ro});
    INFO(r.Describe());
    const nlohmann::json report = ParseJson(r);
    return nlohmann::json(Entry(report, "v1"));
  };

  // No SDK session at all (Python, Go, a custom pool, or nothing running): unknown, never "stuck".
  auto none = read();
  CHECK(none.at("executors").at("pod-a").at("connected").is_null());
  CHECK(none.at("connected_executors").is_null());
  CHECK(none.at("phase") == "draining");

  {
    // The app's pods, as another role (the superuser here): their pools name the sessions.
    pqxx::connection pod_a(db.KeyValueUrl() + " application_name=dbos_transact_pod-a_v1");
    pqxx::connection pod_b(db.KeyValueUrl() + " application_name=dbos_transact_pod-b_v2");
    auto live = read();
    CHECK(live.at("executors").at("pod-a").at("connected") == true);
    CHECK(live.at("connected_executors") == nlohmann::json::array({"pod-a"}));
    CHECK(live.at("phase") == "draining");
    pod_a.disconnect();
    // pod-a is gone, pod-b (v2) still shows the SDK in use: v1 is stuck.
    auto gone = read();
    CHECK(gone.at("executors").at("pod-a").at("connected") == false);
    CHECK(gone.at("phase") == "stuck");
    CHECK(gone.at("safe_to_retire") == false);
    bool has_stuck = false;
    for (const auto& b : gone.at("blockers")) {
      if (b.at("code") == "stuck") {
        has_stuck = true;
        CHECK_THAT(b.at("message").get<std::string>(), Catch::Contains("DBOS__VMID"));
        CHECK_THAT(b.at("message").get<std::string>(), Catch::Contains("pod-a"));
      }
    }
    CHECK(has_stuck);
    CHECK(gone.at("eta_seconds").is_null());
  }
}
