// The patch report's encodings and route without I/O: the JSON field names (the contract of
// issue 14), the Prometheus series, the table's verdict cells, GET /v1/patches routing.
#include <catch2/catch.hpp>

#include "http_route.h"
#include "patch_json.h"
#include "patch_prometheus.h"
#include "patch_table.h"

using namespace dbos_drain;

namespace {

PatchesReport Sample() {
  PatchSnapshot s;
  s.as_of_ms = 1'800'000'000'000;
  s.history_complete = true;
  s.history["x"] = PatchHistoryEntry{s.as_of_ms - 3'600'000, {{"f", {2}}}};
  s.workflows.push_back(PatchWorkflowRow{"w1", "f", "PENDING", std::nullopt, s.as_of_ms - 7'200'000});
  s.workflows.push_back(PatchWorkflowRow{"w2", "f", "PENDING", std::nullopt, s.as_of_ms - 60'000});
  s.steps.push_back(PatchStepRow{"w2", 2, "DBOS.patch-x", s.as_of_ms - 50'000});
  s.history["q\"uote"] = PatchHistoryEntry{s.as_of_ms - 60'000, {{"g", {0}}}};
  return BuildPatchesReport(s, {});
}

}  // namespace

TEST_CASE("patch json: the contract's field names and values", "[patch][encode]") {
  auto j = PatchesToJson(Sample());
  CHECK(j.at("as_of") == "2027-01-15T08:00:00.000Z");
  CHECK(j.at("history_complete") == true);
  CHECK(j.at("overlap_seconds") == 900);
  const auto& x = j.at("patches").at(1);
  CHECK(x.at("name") == "x");
  CHECK(x.at("workflow_functions") == nlohmann::json::array({"f"}));
  CHECK(x.at("first_recorded_at") == "2027-01-15T07:00:00.000Z");
  CHECK(x.at("in_flight_with_marker") == 1);
  CHECK(x.at("blocking_deprecation") == 1);
  CHECK(x.at("safe_to_deprecate") == false);
  CHECK(x.at("safe_to_remove") == false);
  CHECK(x.at("blockers").at(0).at("code") == "blocking_deprecation");
  CHECK(x.at("blockers").at(0).at("message").get<std::string>().find("w1 (f, PENDING, 2h old)") != std::string::npos);
  CHECK(x.at("blocking").at(0) == nlohmann::json{{"workflow_id", "w1"}, {"function", "f"}, {"status", "PENDING"},
                                                {"age_seconds", 7200.0}});
}

TEST_CASE("patch prometheus: four gauges per patch, labels escaped", "[patch][encode]") {
  PatchesReport r = Sample();
  std::string text = EncodePatchPrometheus(&r);
  CHECK(text.find("dbos_drain_patch_report_up 1\n") != std::string::npos);
  CHECK(text.find("# TYPE dbos_drain_patch_safe_to_remove gauge\n") != std::string::npos);
  CHECK(text.find("dbos_drain_patch_in_flight_with_marker{patch=\"x\"} 1\n") != std::string::npos);
  CHECK(text.find("dbos_drain_patch_blocking_deprecation{patch=\"x\"} 1\n") != std::string::npos);
  CHECK(text.find("dbos_drain_patch_safe_to_deprecate{patch=\"q\\\"uote\"} 1\n") != std::string::npos);
  CHECK(text.find("dbos_drain_patch_safe_to_remove{patch=\"x\"} 0\n") != std::string::npos);
  std::string down = EncodePatchPrometheus(nullptr);
  CHECK(down.find("dbos_drain_patch_report_up 0\n") != std::string::npos);
  CHECK(down.find("{patch=") == std::string::npos);  // never stale series
}

TEST_CASE("patch table: verdict cells", "[patch][encode]") {
  PatchesReport r = Sample();
  std::vector<PatchReport> shown{FindPatch(r, "x"), FindPatch(r, "nope")};
  std::string t = FormatPatchTable(r, shown);
  INFO(t);
  CHECK(t.find("PATCH  FUNCTIONS  RECORDED  MARKED  BLOCKING  DEPRECATE     REMOVE\n") == 0);
  CHECK(t.find("\nx      f          1h ago    1       1         no            no\n") != std::string::npos);
  CHECK(t.find("\nnope   -          -         0       0         no (unknown)  no (unknown)\n") != std::string::npos);
}

TEST_CASE("route: GET /v1/patches", "[patch][route]") {
  CHECK(RouteRequest("GET", "/v1/patches").kind == RouteKind::kPatches);
  CHECK(RouteRequest("HEAD", "/v1/patches/").kind == RouteKind::kPatches);
  Route post = RouteRequest("POST", "/v1/patches");
  CHECK(post.kind == RouteKind::kMethodNotAllowed);
  CHECK(post.allow == "GET, HEAD");
  CHECK(RouteRequest("GET", "/v1/patches/x").kind == RouteKind::kNotFound);
}
