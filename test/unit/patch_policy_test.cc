// The patch lifecycle rules (lib/core/patch_policy.h) on hand-built rows, without a database.
// Rows follow the TS SDK 5.3.0: a marker 'DBOS.patch-<name>' sits at the function id where
// patch() was called; an unreturned recv has no row at its id, only its timeout DBOS.sleep at id+1.
#include <catch2/catch.hpp>

#include "patch_policy.h"

using namespace dbos_drain;

namespace {

constexpr int64_t kNow = 10'000'000'000;
constexpr int64_t kMin = 60'000;
constexpr int64_t kPatchedAt = kNow - 600 * kMin;  // the first marker, 10 h ago

PatchWorkflowRow Wf(std::string id, int64_t created, std::string status = "PENDING", std::string fn = "checkout") {
  return PatchWorkflowRow{std::move(id), std::move(fn), std::move(status), std::nullopt, created};
}

PatchStepRow Step(std::string wf, int id, std::string name, int64_t at = kPatchedAt) {
  return PatchStepRow{std::move(wf), id, std::move(name), at};
}

// History: patch "fast-path" first recorded at kPatchedAt in checkout at function id 1.
PatchSnapshot Base() {
  PatchSnapshot s;
  s.as_of_ms = kNow;
  s.history_complete = true;
  s.history["fast-path"] = PatchHistoryEntry{kPatchedAt, {{"checkout", {1}}}};
  return s;
}

const PatchReport& Only(const PatchesReport& r) {
  REQUIRE(r.patches.size() == 1);
  return r.patches[0];
}

}  // namespace

TEST_CASE("patch: marker names", "[patch]") {
  CHECK(PatchNameOfMarker("DBOS.patch-x") == std::optional<std::string>("x"));
  CHECK(PatchNameOfMarker("DBOS.patch-") == std::nullopt);
  CHECK(PatchNameOfMarker("DBOS.sleep") == std::nullopt);
  CHECK(PatchNameOfMarker("prepare") == std::nullopt);
}

TEST_CASE("patch: only finished workflows recorded it: safe to deprecate and to remove", "[patch]") {
  PatchSnapshot s = Base();
  s.workflows.push_back(Wf("new", kNow - kMin));  // started long after: no marker yet, not blocking
  PatchesReport r = BuildPatchesReport(s, {});
  const PatchReport& p = Only(r);
  CHECK(p.name == "fast-path");
  CHECK(p.known);
  CHECK(p.functions == std::set<std::string>{"checkout"});
  CHECK(p.first_recorded_ms == kPatchedAt);
  CHECK(p.first_recorded_exact);
  CHECK(p.in_flight_with_marker == 0);
  CHECK(p.blocking_deprecation == 0);
  CHECK(p.safe_to_deprecate);
  CHECK(p.safe_to_remove);
  CHECK(p.blockers.empty());
}

TEST_CASE("patch: a workflow holding the marker blocks removal, not deprecation", "[patch]") {
  PatchSnapshot s = Base();
  s.workflows.push_back(Wf("marked", kNow - 30 * kMin));
  s.steps.push_back(Step("marked", 0, "prepare"));
  s.steps.push_back(Step("marked", 1, "DBOS.patch-fast-path", kNow - 29 * kMin));
  const PatchReport p = Only(BuildPatchesReport(s, {}));
  CHECK(p.in_flight_with_marker == 1);
  CHECK(p.blocking_deprecation == 0);
  CHECK(p.safe_to_deprecate);
  CHECK_FALSE(p.safe_to_remove);
  REQUIRE(p.blockers.size() == 1);
  CHECK(p.blockers[0].code == "in_flight_with_marker");
  CHECK_THAT(p.blockers[0].message, Catch::Contains("marked (checkout, PENDING, 30m old)"));
}

TEST_CASE("patch: a workflow started before the first marker blocks deprecation whatever its rows say", "[patch]") {
  PatchSnapshot s = Base();
  // Blocked in recv at id 1 (the patch position): no row at 1, only the timeout sleep at 2.
  s.workflows.push_back(Wf("in-recv", kPatchedAt - 60 * kMin));
  s.steps.push_back(Step("in-recv", 0, "prepare", kPatchedAt - 60 * kMin));
  s.steps.push_back(Step("in-recv", 2, "DBOS.sleep", kPatchedAt - 60 * kMin));
  // A step in progress at id 0: no row at all.
  s.workflows.push_back(Wf("in-step", kPatchedAt - 30 * kMin));
  // Resumed by hand / recovered: ENQUEUED on the internal queue, created long before.
  PatchWorkflowRow resumed = Wf("resumed", kPatchedAt - 90 * kMin, "ENQUEUED");
  resumed.queue = "_dbos_internal_queue";
  s.workflows.push_back(resumed);
  const PatchReport p = Only(BuildPatchesReport(s, {}));
  CHECK(p.blocking_deprecation == 3);
  CHECK_FALSE(p.safe_to_deprecate);
  CHECK(p.safe_to_remove);
  REQUIRE(p.blocking.size() == 3);
  CHECK(p.blocking[0].id == "resumed");  // oldest first
  CHECK(p.blocking[1].id == "in-recv");
  REQUIRE(p.blockers.size() == 1);
  CHECK(p.blockers[0].code == "blocking_deprecation");
  CHECK_THAT(p.blockers[0].message, Catch::Contains("resumed (checkout, ENQUEUED, 11h 30m old)"));
}

TEST_CASE("patch: the rollout overlap: started just after the first marker still blocks", "[patch]") {
  PatchSnapshot s = Base();
  s.workflows.push_back(Wf("overlap", kPatchedAt + 5 * kMin));
  s.workflows.push_back(Wf("after", kPatchedAt + 20 * kMin));
  PatchOptions o;  // 15 min
  PatchReport p = Only(BuildPatchesReport(s, o));
  CHECK(p.blocking_deprecation == 1);
  CHECK(p.blocking.at(0).id == "overlap");
  o.overlap = std::chrono::minutes(0);
  CHECK(Only(BuildPatchesReport(s, o)).blocking_deprecation == 0);
  o.overlap = std::chrono::minutes(30);
  CHECK(Only(BuildPatchesReport(s, o)).blocking_deprecation == 2);
}

TEST_CASE("patch: another step at the marker position is the old branch, whenever it started", "[patch]") {
  PatchSnapshot s = Base();
  s.workflows.push_back(Wf("old-code-late", kNow - 60 * kMin));  // an old pod, or a fork of an old workflow
  s.steps.push_back(Step("old-code-late", 0, "prepare"));
  s.steps.push_back(Step("old-code-late", 1, "DBOS.recv"));
  // Another patch's marker at the position (if patch("v3") ... else if patch("fast-path")) is not the old branch.
  s.workflows.push_back(Wf("newer-patch", kNow - 60 * kMin));
  s.steps.push_back(Step("newer-patch", 1, "DBOS.patch-v3", kNow - 59 * kMin));
  PatchesReport r = BuildPatchesReport(s, {});
  REQUIRE(r.patches.size() == 2);
  const PatchReport& fast = r.patches[0];
  CHECK(fast.name == "fast-path");
  CHECK(fast.blocking_deprecation == 1);
  CHECK(fast.blocking.at(0).id == "old-code-late");
  const PatchReport& v3 = r.patches[1];
  CHECK(v3.name == "v3");
  CHECK(v3.in_flight_with_marker == 1);
  CHECK_FALSE(v3.first_recorded_exact);  // only seen in flight
  // For v3 too, old-code-late recorded DBOS.recv where v3's marker goes (id 1): its old branch.
  CHECK(v3.blocking_deprecation == 1);
}

TEST_CASE("patch: workflows of another function never count", "[patch]") {
  PatchSnapshot s = Base();
  s.workflows.push_back(Wf("other", kPatchedAt - 60 * kMin, "PENDING", "refund"));
  s.steps.push_back(Step("other", 1, "charge"));
  const PatchReport p = Only(BuildPatchesReport(s, {}));
  CHECK(p.blocking_deprecation == 0);
  CHECK(p.in_flight_with_marker == 0);
}

TEST_CASE("patch: a queued workflow created after the first marker does not block", "[patch]") {
  PatchSnapshot s = Base();
  PatchWorkflowRow q = Wf("queued", kPatchedAt + 60 * kMin, "ENQUEUED");
  q.queue = "tasks";
  s.workflows.push_back(q);
  CHECK(Only(BuildPatchesReport(s, {})).safe_to_deprecate);
}

TEST_CASE("patch: first recorded from in-flight markers when there is no history", "[patch]") {
  PatchSnapshot s;
  s.as_of_ms = kNow;
  s.history_complete = false;
  s.workflows.push_back(Wf("a", kNow - 100 * kMin));
  s.steps.push_back(Step("a", 3, "DBOS.patch-x", kNow - 90 * kMin));
  s.workflows.push_back(Wf("b", kNow - 50 * kMin));
  s.steps.push_back(Step("b", 3, "DBOS.patch-x", kNow - 40 * kMin));
  s.workflows.push_back(Wf("c", kNow - 95 * kMin));  // before the earliest known marker: blocks
  const PatchReport p = Only(BuildPatchesReport(s, {}));
  CHECK(p.first_recorded_ms == kNow - 90 * kMin);
  CHECK_FALSE(p.first_recorded_exact);
  CHECK(p.positions.at("checkout") == std::set<int>{3});
  CHECK(p.in_flight_with_marker == 2);
  CHECK(p.blocking_deprecation == 1);
  CHECK(p.blockers.size() == 2);
}

TEST_CASE("patch: blocker messages name at most max_listed workflows", "[patch]") {
  PatchSnapshot s = Base();
  for (int i = 0; i < 8; ++i) s.workflows.push_back(Wf("old-" + std::to_string(i), kPatchedAt - (i + 1) * kMin));
  PatchOptions o;
  o.max_listed = 3;
  const PatchReport p = Only(BuildPatchesReport(s, o));
  CHECK(p.blocking_deprecation == 8);
  CHECK(p.blocking.size() == 3);
  CHECK(p.blocking[0].id == "old-7");
  CHECK_THAT(p.blockers.at(0).message, Catch::Contains("and 5 more"));
}

TEST_CASE("patch: an unknown patch is never safe", "[patch]") {
  PatchesReport r = BuildPatchesReport(Base(), {});
  PatchReport p = FindPatch(r, "fast-paht");
  CHECK_FALSE(p.known);
  CHECK_FALSE(p.safe_to_deprecate);
  CHECK_FALSE(p.safe_to_remove);
  REQUIRE(p.blockers.size() == 1);
  CHECK(p.blockers[0].code == "unknown_patch");
  CHECK(FindPatch(r, "fast-path").known);
}
