// Issue 22: several applications in one system database (application_name on application_versions
// and workflow_status), versions whose "latest" moves (setLatestApplicationVersion, Conductor), and
// old work brought back (rewind, resume, import): the real binary, rows shaped like the SDK's.
#include "cli_helpers.h"

using namespace dbos_drain::clitest;
using dbos_drain::testing::AgoMs;
using dbos_drain::testing::NowMs;
using std::chrono::hours;
using std::chrono::minutes;

namespace {

int StatusExit(const TestDatabase& db, const std::string& version, std::initializer_list<std::string> extra = {}) {
  std::vector<std::string> args{"status", version};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("--database-url");
  args.push_back(db.url());
  ProcessResult r = RunDrain(args);
  INFO(r.Describe());
  return r.exit_code;
}

std::vector<std::string> Retirable(const TestDatabase& db, std::initializer_list<std::string> extra = {}) {
  std::vector<std::string> args{"status", "--retirable"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("--database-url");
  args.push_back(db.url());
  ProcessResult r = RunDrain(args);
  INFO(r.Describe());
  CHECK(r.exit_code == 0);
  return Lines(r.out);
}

bool Has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

}  // namespace

TEST_CASE("applications: each application's latest is latest, with and without --application", "[cli][applications]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(hours(3)), std::string("app-a"));
  db.InsertVersion("v2", AgoMs(hours(2)), std::string("app-a"));  // app A's latest, idle
  db.InsertWorkflows(2, Workflow("SUCCESS").Version("v1").Application(std::string("app-a")).CreatedAgo(hours(3)).CompletedAgo(hours(3)));
  db.InsertVersion("b1", AgoMs(hours(1)), std::string("app-b"));  // app B registers later

  CHECK(StatusExit(db, "v2") == 1);
  CHECK(StatusExit(db, "v2", {"--application", "app-a"}) == 1);
  CHECK(StatusExit(db, "v2", {"--application", "app-b"}) == 1);  // not app B's: unknown there
  CHECK(StatusExit(db, "b1") == 1);
  CHECK(StatusExit(db, "v1") == 0);
  CHECK(StatusExit(db, "v1", {"--application", "app-a"}) == 0);

  auto all = Retirable(db);
  CHECK_FALSE(Has(all, "v2"));
  CHECK_FALSE(Has(all, "b1"));
  CHECK(Has(all, "v1"));
  auto scoped = Retirable(db, {"--application", "app-a"});
  CHECK_FALSE(Has(scoped, "v2"));
  CHECK(Has(scoped, "v1"));

  ProcessResult json = RunDrain(Args({"status", "--json"}, db));
  nlohmann::json report = ParseJson(json);
  CHECK(report.at("latest_version").is_null());  // not one version: two applications
  CHECK(report.at("latest_by_application") == nlohmann::json{{"app-a", "v2"}, {"app-b", "b1"}});
  const auto& v2 = VersionIn(report, "v2");
  CHECK(v2.at("application") == "app-a");
  CHECK(v2.at("latest") == true);
  CHECK_THAT(v2.at("blockers").at(0).at("message").get<std::string>(), Catch::Contains("of application app-a"));
  CHECK(VersionIn(report, "b1").at("application") == "app-b");

  SECTION("a version owned by no application is in every scope") {
    db.InsertVersion("shared", NowMs());
    ProcessResult j = RunDrain(Args({"status", "--json"}, db));
    nlohmann::json r = ParseJson(j);
    CHECK(r.at("latest_by_application").at("app-a") == "shared");
    CHECK(r.at("latest_by_application").at("app-b") == "shared");
    CHECK(r.at("latest_version") == "shared");
    // v2 and b1 are no longer latest: judged like any other version (idle, so safe).
    CHECK(StatusExit(db, "v2") == 0);
    CHECK(StatusExit(db, "shared") == 1);
  }
}

TEST_CASE("versions that move: a rollback makes an old version latest again, both directions", "[cli][applications]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(hours(2)));
  db.InsertVersion("v2", AgoMs(hours(1)));
  CHECK(StatusExit(db, "v1") == 0);
  CHECK(StatusExit(db, "v2") == 1);  // latest

  // setLatestApplicationVersion("v1") / Conductor's app set-version: version_timestamp = now.
  db.Exec("UPDATE dbos.application_versions SET version_timestamp = " + std::to_string(NowMs()) +
          " WHERE version_name = 'v1'");
  CHECK(StatusExit(db, "v1") == 1);
  CHECK(StatusExit(db, "v2") == 0);  // no longer latest, nothing in flight: like any other version
  ProcessResult j = RunDrain(Args({"status", "v1", "--json"}, db));
  const nlohmann::json report = ParseJson(j);
  CHECK(VersionIn(report, "v1").at("blockers").at(0).at("code") == "latest");

  // And forward again.
  db.Exec("UPDATE dbos.application_versions SET version_timestamp = " + std::to_string(NowMs() + 1) +
          " WHERE version_name = 'v2'");
  CHECK(StatusExit(db, "v1") == 0);
  CHECK(StatusExit(db, "v2") == 1);
}

TEST_CASE("old work brought back (rewind, resume, import) is in flight for its old version", "[cli][applications]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(hours(6)));
  db.InsertVersion("v2", AgoMs(hours(1)));
  const std::string id = db.InsertWorkflow(Workflow("SUCCESS").Version("v1").Queue("tasks").CreatedAgo(hours(5)).CompletedAgo(hours(5)));
  CHECK(StatusExit(db, "v1") == 0);

  // rewindWorkflow: the terminal row back to ENQUEUED, its id, created_at and version kept.
  db.Exec("UPDATE dbos.workflow_status SET status = 'ENQUEUED', completed_at = NULL WHERE workflow_uuid = " +
          TestDatabase::Literal(id));
  CHECK(StatusExit(db, "v1") == 1);
  // import_workflow: rows inserted as exported, in flight, old version and created_at.
  db.InsertWorkflow(Workflow::Rewound("v1", "tasks", hours(4)));
  ProcessResult j = RunDrain(Args({"status", "v1", "--json"}, db));
  const nlohmann::json report = ParseJson(j);
  const auto& v1 = VersionIn(report, "v1");
  CHECK(v1.at("in_flight").at("enqueued") == 2);
  CHECK(v1.at("intake").at("started") == 0);  // not a recent start: the in-flight count holds it
  CHECK(v1.at("phase") == "draining");
}
