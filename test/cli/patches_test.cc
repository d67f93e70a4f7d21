// `dbos-drain patches` end to end: the real binary against the SDK-shaped rows of
// test/support/patch_scenario.h. Exit codes, --json, --deprecate, the table, the old-shape error.
#include "cli_helpers.h"
#include "patch_scenario.h"

using namespace dbos_drain::clitest;
using dbos_drain::testing::LoadPatchScenario;

namespace {

const nlohmann::json& PatchIn(const nlohmann::json& doc, const std::string& name) {
  for (const auto& p : doc.at("patches")) {
    if (p.at("name") == name) return p;
  }
  FAIL("patch " << name << " not in " << doc.dump());
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("patches --json: every field of the scenario", "[cli][patch]") {
  TestDatabase db;
  LoadPatchScenario(db);
  ProcessResult r = RunDrain(Args({"patches", "--json"}, db));
  INFO(r.Describe());
  CHECK(r.exit_code == 0);  // none named: the report was read
  auto j = ParseJson(r);
  CHECK(j.at("history_complete") == true);
  CHECK(j.at("overlap_seconds") == 900);
  CHECK(j.at("patches").size() == 2);
  const auto& fast = PatchIn(j, "fast-path");
  CHECK(fast.at("known") == true);
  CHECK(fast.at("workflow_functions") == nlohmann::json::array({"checkout"}));
  CHECK(fast.at("marker_positions") == nlohmann::json{{"checkout", {1}}});
  CHECK(fast.at("first_recorded_at").is_string());
  CHECK(fast.at("first_recorded_exact") == true);
  CHECK(fast.at("in_flight_with_marker") == 1);
  CHECK(fast.at("blocking_deprecation") == 3);
  CHECK(fast.at("safe_to_deprecate") == false);
  CHECK(fast.at("safe_to_remove") == false);
  CHECK(fast.at("with_marker").at(0).at("workflow_id") == "marked");
  CHECK(fast.at("blocking").at(0).at("workflow_id") == "resumed");
  CHECK(fast.at("blocking").at(0).at("age_seconds").get<double>() > 6 * 3600 - 60);
  CHECK(fast.at("blockers").size() == 2);
  CHECK(fast.at("blockers").at(0).at("code") == "blocking_deprecation");
  const auto& audit = PatchIn(j, "audit-log");
  CHECK(audit.at("safe_to_deprecate") == true);
  CHECK(audit.at("safe_to_remove") == true);
  CHECK(audit.at("blockers").empty());
}

TEST_CASE("patches NAME: exit codes for remove and --deprecate", "[cli][patch]") {
  TestDatabase db;
  LoadPatchScenario(db);
  auto exit_of = [&](std::initializer_list<std::string> args) {
    ProcessResult r = RunDrain(Args(args, db));
    INFO(r.Describe());
    CHECK(r.err.empty());
    return r.exit_code;
  };
  CHECK(exit_of({"patches", "audit-log"}) == 0);
  CHECK(exit_of({"patches", "audit-log", "--deprecate"}) == 0);
  CHECK(exit_of({"patches", "fast-path"}) == 1);
  CHECK(exit_of({"patches", "fast-path", "--deprecate"}) == 1);
  CHECK(exit_of({"patches", "audit-log", "fast-path"}) == 1);
  CHECK(exit_of({"patches", "no-such-patch"}) == 1);  // unknown: never safe
  CHECK(exit_of({"patches", "no-such-patch", "--deprecate"}) == 1);

  db.SetStatus("marked", "SUCCESS");  // nobody holds the marker any more: removable, not deprecatable
  CHECK(exit_of({"patches", "fast-path"}) == 0);
  CHECK(exit_of({"patches", "fast-path", "--deprecate"}) == 1);
  for (const char* id : {"old-recv", "old-branch", "resumed"}) db.SetStatus(id, "SUCCESS");
  CHECK(exit_of({"patches", "fast-path", "--deprecate"}) == 0);
}

TEST_CASE("patches: the table names the blockers", "[cli][patch]") {
  TestDatabase db;
  LoadPatchScenario(db);
  ProcessResult r = RunDrain(Args({"patches", "fast-path", "no-such-patch"}, db));
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  auto rows = ParseTable(r.out);
  REQUIRE(rows.size() >= 2);
  CHECK(rows[0].at("PATCH") == "fast-path");
  CHECK(rows[0].at("FUNCTIONS") == "checkout");
  CHECK(rows[0].at("RECORDED") == "3h ago");
  CHECK(rows[0].at("MARKED") == "1");
  CHECK(rows[0].at("BLOCKING") == "3");
  CHECK(rows[0].at("DEPRECATE") == "no");
  CHECK(rows[0].at("REMOVE") == "no");
  CHECK(rows[1].at("PATCH") == "no-such-patch");
  CHECK(rows[1].at("REMOVE") == "no (unknown)");
  CHECK_THAT(r.out, Catch::Contains("fast-path: blocking_deprecation: 3 in-flight workflows hold no 'DBOS.patch-fast-path' marker"));
  CHECK_THAT(r.out, Catch::Contains("resumed (checkout, ENQUEUED, 6h"));
  CHECK_THAT(r.out, Catch::Contains("fast-path: in_flight_with_marker: 1 in-flight workflow holds"));
  CHECK_THAT(r.out, Catch::Contains("no-such-patch: unknown_patch"));
}

TEST_CASE("patches: --patch-overlap changes the count; bad input is exit 2", "[cli][patch]") {
  TestDatabase db;
  LoadPatchScenario(db);
  db.InsertWorkflow(Workflow("PENDING").Id("late").Name("checkout").CreatedAgo(std::chrono::minutes(170)));  // 10m after
  auto blocking = [&](const std::string& overlap) {
    ProcessResult r = RunDrain(Args({"patches", "--json", "--patch-overlap", overlap}, db));
    INFO(r.Describe());
    REQUIRE(r.exit_code == 0);
    return PatchIn(ParseJson(r), "fast-path").at("blocking_deprecation").get<int>();
  };
  CHECK(blocking("15m") == 4);
  CHECK(blocking("5m") == 3);
  ProcessResult bad = RunDrain(Args({"patches", "--patch-overlap", "soon"}, db));
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("invalid --patch-overlap"));
}

TEST_CASE("patches: an old schema without operation_outputs is exit 2 with the reason", "[cli][patch]") {
  TestDatabase db("schema-ts-3x.sql");
  ProcessResult r = RunDrain(Args({"patches", "fast-path"}, db));
  INFO(r.Describe());
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::Contains("cannot read workflow patches") && Catch::Contains("operation_outputs does not exist"));
  // status still works on that database.
  CHECK(RunDrain(Args({"status"}, db)).exit_code == 0);
}
