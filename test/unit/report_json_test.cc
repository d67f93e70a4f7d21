// The report as JSON (docs/report-format.md) and as a table.
#include <catch2/catch.hpp>

#include <regex>

#include "drain_policy.h"
#include "policy_fixtures.h"
#include "report_json.h"
#include "report_table.h"

using namespace dbos_drain;
using namespace dbos_drain::unit;
using nlohmann::json;
using S = InFlightStatus;

namespace {

Report CrashedReport() {
  Snapshot s = MakeSnapshot();
  Register(s, "v1", 1795677703560);
  Register(s, "v2", 1795677704135);
  s.queues.push_back({"tasks", std::nullopt, 2});
  s.groups.push_back(Group("v1", S::kPending, 3, std::nullopt, "worker-v1", 1795677703685));
  s.groups.push_back(Group("v1", S::kEnqueued, 4, "tasks", "worker-v1", 1795677703675));
  s.groups.push_back(Group("v2", S::kPending, 1, std::nullopt, "worker-v2", 1795677704176));
  s.groups.push_back(Group(std::nullopt, S::kEnqueued, 2, "tasks", ""));
  return BuildReport(s, {});
}

void CheckCounts(const json& c, int64_t pending, int64_t enqueued, int64_t delayed) {
  REQUIRE(c.is_object());
  CHECK(c.at("pending") == pending);
  CHECK(c.at("enqueued") == enqueued);
  CHECK(c.at("delayed") == delayed);
  CHECK(c.at("total") == pending + enqueued + delayed);
}

}  // namespace

TEST_CASE("timestamps are RFC 3339 UTC with milliseconds", "[json]") {
  CHECK(FormatTimestamp(0) == "1970-01-01T00:00:00.000Z");
  CHECK(FormatTimestamp(1795677703560) == "2026-11-26T07:21:43.560Z");
  CHECK(FormatTimestamp(1795677703005) == "2026-11-26T07:21:43.005Z");
  CHECK(FormatTimestamp(-1) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("the report carries every field of the contract", "[json]") {
  Report r = CrashedReport();
  json j = ReportToJson(r);
  CHECK(j.at("as_of") == FormatTimestamp(kNow));
  CHECK(j.at("application").is_null());
  CHECK(j.at("application_filter_ignored") == false);
  CHECK(j.at("latest_version") == "v2");

  const json& schema = j.at("schema");
  CHECK(schema.at("name") == "dbos");
  CHECK(schema.at("database") == "appdb");
  CHECK(schema.at("migration") == 123);
  CHECK(schema.at("has_application_versions") == true);
  CHECK(schema.at("has_queues") == true);
  CHECK(schema.at("has_application_name") == true);
  CHECK(schema.at("has_delay_until") == true);

  CheckCounts(j.at("unassigned"), 0, 2, 0);
  CHECK(j.at("unassigned").at("queues").at("tasks").at("enqueued") == 2);

  const json& versions = j.at("versions");
  REQUIRE(versions.size() == 2);
  const json& v1 = versions.at(0);
  CHECK(v1.at("version") == "v1");
  CHECK(v1.at("known") == true);
  CHECK(v1.at("latest") == false);
  CHECK(v1.at("registered_at") == "2026-11-26T07:21:43.560Z");
  CHECK(v1.at("patching") == false);
  CHECK(v1.at("drained") == false);
  CHECK(v1.at("reason").is_null());
  CHECK(v1.at("note").is_null());
  CHECK_THAT(v1.at("summary").get<std::string>(), Catch::StartsWith("v1 not drained: 3 pending, 4 enqueued (tasks), oldest "));
  CheckCounts(v1.at("in_flight"), 3, 4, 0);
  CheckCounts(v1.at("not_queued"), 3, 0, 0);
  CheckCounts(v1.at("queues").at("tasks"), 0, 4, 0);
  CheckCounts(v1.at("executors").at("worker-v1"), 3, 4, 0);
  CHECK(v1.at("unassigned_in_flight") == 0);
  CHECK(v1.at("oldest_in_flight_at") == "2026-11-26T07:21:43.675Z");
  CHECK(v1.at("oldest_in_flight_age_seconds").get<double>() == Approx((kNow - 1795677703675) / 1000.0));

  const json& v2 = versions.at(1);
  CHECK(v2.at("latest") == true);
  CheckCounts(v2.at("in_flight"), 1, 2, 0);  // its own PENDING plus the unassigned ENQUEUED
  CHECK(v2.at("unassigned_in_flight") == 2);
}

TEST_CASE("empty maps are objects and absent values are null", "[json]") {
  Snapshot s = MakeSnapshot(OldShape());
  s.versions_with_history.insert("v0");
  s.application_filter_ignored = true;
  Report r = BuildReport(s, {});
  json j = ReportToJson(r, Listing::kAll);  // v0 is safe to retire and quiet: hidden by default
  CHECK(j.at("latest_version").is_null());
  CHECK(j.at("schema").at("migration") == 12);
  CHECK(j.at("schema").at("has_application_versions") == false);
  CHECK(j.at("application_filter_ignored") == true);
  CHECK(j.at("unassigned").at("queues").is_object());
  const json& v0 = j.at("versions").at(0);
  CHECK(v0.at("drained") == true);
  CHECK(v0.at("registered_at").is_null());
  CHECK(v0.at("queues").is_object());
  CHECK(v0.at("queues").empty());
  CHECK(v0.at("executors").is_object());
  CHECK(v0.at("oldest_in_flight_at").is_null());
  CHECK(v0.at("oldest_in_flight_age_seconds").is_null());
  CheckCounts(v0.at("in_flight"), 0, 0, 0);

  SchemaShape unknown_migration = OldShape();
  unknown_migration.migration.reset();
  CHECK(ReportToJson(BuildReport(MakeSnapshot(unknown_migration), {})).at("schema").at("migration").is_null());
}

TEST_CASE("an unknown version's entry carries the reason", "[json]") {
  Report r = CrashedReport();
  json v = VersionToJson(FindVersion(r, "nope", {}), r.as_of_ms);
  CHECK(v.at("known") == false);
  CHECK(v.at("drained") == false);
  CHECK_THAT(v.at("reason").get<std::string>(), Catch::Contains("unknown"));
}

TEST_CASE("odd names survive JSON encoding", "[json]") {
  Snapshot s = MakeSnapshot();
  const std::string odd = "v\"1\n\\\xe6\x97\xa5";
  s.groups.push_back(Group(odd, S::kPending, 1, std::string("q\"ueue"), "exec\ttab"));
  std::string text = DumpJson(ReportToJson(BuildReport(s, {})));
  json back = json::parse(text);
  CHECK(back.at("versions").at(0).at("version") == odd);
  CHECK(back.at("versions").at(0).at("queues").contains("q\"ueue"));
  CHECK(back.at("versions").at(0).at("executors").contains("exec\ttab"));
  CHECK(text.find('\n') == std::string::npos);
}

TEST_CASE("invalid UTF-8 from the database is replaced, not thrown", "[json]") {
  Snapshot s = MakeSnapshot();
  s.groups.push_back(Group(std::string("bad\xff"), S::kPending, 1));
  std::string text;
  REQUIRE_NOTHROW(text = DumpJson(ReportToJson(BuildReport(s, {})), 2));
  CHECK_NOTHROW(json::parse(text));
}

TEST_CASE("the table has the documented columns and a row per version", "[table]") {
  Report r = CrashedReport();
  std::vector<VersionReport> shown = r.versions;
  shown.push_back(FindVersion(r, "v-typo", {}));
  std::string table = FormatReportTable(r, shown);
  std::istringstream in(table);
  std::string header;
  std::getline(in, header);
  CHECK(std::regex_match(header, std::regex(R"(VERSION +LATEST +PENDING +ENQUEUED +DELAYED +SUSPENDED +OLDEST +EXECUTORS +DRAINED +PHASE +RETIRE)")));
  std::string v1, v2, typo;
  std::getline(in, v1);
  std::getline(in, v2);
  std::getline(in, typo);
  CHECK(std::regex_match(v1, std::regex(R"(v1 +- +3 +4 +0 +0 +1h 59m +worker-v1 +no +draining +no)")));
  CHECK(std::regex_match(v2, std::regex(R"(v2 +yes +1 +2 +0 +\S.* +\(none\),worker-v2 +no +latest +no)")));
  CHECK(std::regex_match(typo, std::regex(R"(v-typo +- +0 +0 +0 +0 +- +- +no \(unknown\) +unknown +no)")));
  CHECK_THAT(table, Catch::Contains("unassigned (NULL version, taken by the latest version v2): 2 in flight"));
  CHECK_THAT(table, Catch::Contains("v-typo: version \"v-typo\" is unknown"));
  // The blockers line of each version that is not safe to retire.
  CHECK_THAT(table, Catch::Contains("\nv1 not safe to retire: in_flight (3 pending, 4 enqueued (tasks), oldest 1h 59m)\n"));
  CHECK_THAT(table, Catch::Contains("\nv-typo not safe to retire: unknown_version (\"v-typo\" is unknown)\n"));
  CHECK_THAT(table, Catch::Contains("as of " + FormatTimestamp(kNow) + " (database appdb, schema dbos)"));
}

TEST_CASE("table cells stay on one line", "[table]") {
  Snapshot s = MakeSnapshot();
  s.groups.push_back(Group("evil\nv", S::kPending, 1, std::nullopt, "exec\r"));
  Report r = BuildReport(s, {});
  std::string table = FormatReportTable(r, r.versions);
  CHECK_THAT(table, Catch::Contains("evil?v"));
  CHECK_THAT(table, Catch::Contains("exec?"));
  CHECK_THAT(table, !Catch::Contains("evil\nv"));
}

TEST_CASE("an empty report says so", "[table]") {
  Report r = BuildReport(MakeSnapshot(), {});
  CHECK_THAT(FormatReportTable(r, r.versions), Catch::Contains("(no versions registered and nothing in flight)"));
}
