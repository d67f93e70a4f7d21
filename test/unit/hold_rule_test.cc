// The pod hold's release rule (lib/core/hold_rule.h): every branch, without a database.
#include <catch2/catch.hpp>

#include "drain_policy.h"
#include "hold_rule.h"
#include "policy_fixtures.h"
#include "retire_policy.h"

using namespace dbos_drain;
using namespace dbos_drain::unit;
using S = InFlightStatus;

namespace {

Snapshot TwoVersions() {
  Snapshot s = MakeSnapshot();
  Register(s, "v1", kNow - 3'600'000);
  Register(s, "v2", kNow - 600'000);
  return s;
}

HoldDecision Decide(const Report& r, const std::string& executor, const std::set<std::string>& leaving = {},
                    const std::string& version = "v1") {
  return DecideHold({version, executor}, &r, "", true, leaving);
}

}  // namespace

TEST_CASE("hold: own PENDING work holds; another executor's does not", "[hold]") {
  Snapshot s = TwoVersions();
  s.groups.push_back(Group("v1", S::kPending, 2, std::nullopt, "pod-a"));
  Report r = BuildReport(s, {});
  CHECK(Decide(r, "pod-a").code == "own_pending");
  CHECK_FALSE(Decide(r, "pod-a").release);
  CHECK(Decide(r, "pod-b").release);
  CHECK(Decide(r, "pod-b").code == "released");
}

TEST_CASE("hold: queued work needs another live executor of the version that is not leaving", "[hold]") {
  Snapshot s = TwoVersions();
  s.groups.push_back(Group("v1", S::kEnqueued, 3, std::string("tasks"), ""));
  s.groups.push_back(Group("v1", S::kPending, 1, std::string("tasks"), "pod-b"));
  // Sessions not visible (Python, Go): nobody known alive.
  Report unknown = BuildReport(s, {});
  CHECK(Decide(unknown, "pod-a").code == "queued_without_worker");

  s.sessions_visible = true;
  s.sdk_sessions = {SdkSessionName("pod-a", "v1"), SdkSessionName("pod-b", "v1")};
  Report r = BuildReport(s, {});
  CHECK(Decide(r, "pod-a").release);                       // pod-b is alive
  CHECK(Decide(r, "pod-a", {"pod-b"}).code == "queued_without_worker");  // pod-b is stopping too
  CHECK(Decide(r, "pod-b").code == "own_pending");

  s.sdk_sessions = {SdkSessionName("pod-a", "v1")};  // only the asking pod itself
  CHECK(Decide(BuildReport(s, {}), "pod-a").code == "queued_without_worker");
}

TEST_CASE("hold: DELAYED rows and NULL-version rows of the latest count as queued", "[hold]") {
  Snapshot s = TwoVersions();
  s.groups.push_back(Group("v1", S::kDelayed, 1, std::string("tasks"), ""));
  CHECK(Decide(BuildReport(s, {}), "pod-a").code == "queued_without_worker");

  Snapshot latest = TwoVersions();
  latest.groups.push_back(Group(std::nullopt, S::kEnqueued, 2, std::string("tasks"), ""));
  Report r = BuildReport(latest, {});
  CHECK(Decide(r, "pod-z", {}, "v2").code == "queued_without_worker");
  CHECK(Decide(r, "pod-a").release);  // v1's pods take no NULL-version rows
}

TEST_CASE("hold: SUSPENDED rows need another live executor; unknown statuses hold", "[hold]") {
  Snapshot s = TwoVersions();
  s.groups.push_back(Group("v1", S::kSuspended, 2, std::nullopt, "pod-a"));
  CHECK(Decide(BuildReport(s, {}), "pod-a").code == "queued_without_worker");
  s.sessions_visible = true;
  s.sdk_sessions = {SdkSessionName("pod-b", "v1")};
  CHECK(Decide(BuildReport(s, {}), "pod-a").release);  // pod-b takes them when they wake

  Snapshot unknown = TwoVersions();
  unknown.unknown_statuses.push_back({std::string("v1"), "HIBERNATING", 3, kNow - 1000});
  CHECK(Decide(BuildReport(unknown, {}), "pod-a").code == "unknown_status");
  CHECK(Decide(BuildReport(unknown, {}), "pod-z", {}, "v2").release);  // v2's pods are not concerned
  // Without a version they block every version, so every pod holds.
  Snapshot null_version = TwoVersions();
  null_version.unknown_statuses.push_back({std::nullopt, "PAUSED", 1, kNow - 1000});
  CHECK(Decide(BuildReport(null_version, {}), "pod-a").code == "unknown_status");
  CHECK(Decide(BuildReport(null_version, {}), "pod-z", {}, "v2").code == "unknown_status");
}

TEST_CASE("hold: no report, a stale replica, a report read before the hold and an unknown version hold", "[hold]") {
  Report r = BuildReport(TwoVersions(), {});
  HoldDecision down = DecideHold({"v1", "pod-a"}, nullptr, "connection refused", true, {});
  CHECK_FALSE(down.release);
  CHECK(down.code == "database_unreadable");
  CHECK(down.message.find("connection refused") != std::string::npos);
  CHECK(DecideHold({"v1", "pod-a"}, &r, "", false, {}).code == "report_before_hold");
  CHECK(Decide(r, "pod-a", {}, "v-typo").code == "unknown_version");
  Report lagging = r;
  lagging.replica.fresh = false;
  CHECK(Decide(lagging, "pod-a").code == "replica_lag");
  CHECK(Decide(r, "pod-a").release);  // and the same report, fresh and after the hold: released
}

