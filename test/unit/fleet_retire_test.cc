// The set verdict (lib/core/fleet_retire.h): every version but `keep`, without a database.
#include <catch2/catch.hpp>

#include "drain_policy.h"
#include "fleet_retire.h"
#include "policy_fixtures.h"

using namespace dbos_drain;
using namespace dbos_drain::unit;
using S = InFlightStatus;

namespace {

// v1 old and drained long ago (hidden by default), v2 superseded, v3 latest.
Snapshot ThreeVersions() {
  Snapshot s = MakeSnapshot();
  Register(s, "v1", kNow - 3 * 86'400'000LL);
  Register(s, "v2", kNow - 3'600'000);
  Register(s, "v3", kNow - 600'000);
  return s;
}

std::vector<std::pair<std::string, std::string>> Blocks(const SetVerdict& v) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& b : v.blockers) out.emplace_back(b.version, b.code);
  return out;
}

}  // namespace

TEST_CASE("set verdict: a superseded version holding work blocks the set, and frees it once drained", "[fleet]") {
  Snapshot s = ThreeVersions();
  s.groups.push_back(Group("v2", S::kPending, 2, std::nullopt, "pod-v2-a"));
  Report r = BuildReport(s, {});
  SetVerdict v = JudgeAllBut(r, {"v3"});
  CHECK_FALSE(v.safe_to_retire);
  CHECK(v.keep == std::vector<std::string>{"v3"});
  CHECK(v.judged == std::vector<std::string>{"v1", "v2"});
  CHECK(Blocks(v) == std::vector<std::pair<std::string, std::string>>{{"v2", "in_flight"}});
  // The message is v2's own (retire_policy.h), not a new wording.
  CHECK(v.blockers[0].message == r.Find("v2")->blockers[0].message);

  Snapshot drained = ThreeVersions();
  SetVerdict after = JudgeAllBut(BuildReport(drained, {}), {"v3"});
  CHECK(after.safe_to_retire);
  CHECK(after.blockers.empty());
  CHECK(after.judged == std::vector<std::string>{"v1", "v2"});
}

TEST_CASE("set verdict: hidden versions are judged too", "[fleet]") {
  Snapshot s = ThreeVersions();
  Report r = BuildReport(s, {});
  REQUIRE(r.Find("v1"));
  CHECK_FALSE(r.Find("v1")->listed);  // the default listing hides it
  SetVerdict v = JudgeAllBut(r, {"v3"});
  CHECK(std::find(v.judged.begin(), v.judged.end(), "v1") != v.judged.end());
}

TEST_CASE("set verdict: keep unknown (not registered yet) still judges the latest, which blocks", "[fleet]") {
  Report r = BuildReport(ThreeVersions(), {});
  SetVerdict v = JudgeAllBut(r, {"v4-not-registered"});
  CHECK_FALSE(v.safe_to_retire);
  CHECK(v.judged == std::vector<std::string>{"v1", "v2", "v3"});
  CHECK(Blocks(v) == std::vector<std::pair<std::string, std::string>>{{"v3", "latest"}});

  SetVerdict both = JudgeAllBut(r, {"v4-not-registered", "v3", "v3"});
  CHECK(both.safe_to_retire);
  CHECK(both.keep == std::vector<std::string>{"v4-not-registered", "v3"});
}

TEST_CASE("set verdict: a stale replica blocks even when nothing is judged", "[fleet]") {
  Report r = BuildReport(ThreeVersions(), {});
  r.replica.fresh = false;
  r.replica.reason = "replica lag 15.0s exceeds --max-replica-lag 10s";
  SetVerdict v = JudgeAllBut(r, {"v1", "v2", "v3"});
  CHECK(v.judged.empty());
  CHECK_FALSE(v.safe_to_retire);
  CHECK(Blocks(v) == std::vector<std::pair<std::string, std::string>>{{"", "replica_lag"}});
}

TEST_CASE("set verdict: keep lists", "[fleet]") {
  std::string why;
  CHECK(ParseKeepList("a,b,a", &why) == std::vector<std::string>{"a", "b"});
  CHECK(ParseKeepList("abc", &why) == std::vector<std::string>{"abc"});
  CHECK_FALSE(ParseKeepList("", &why));
  CHECK(why.find("at least one") != std::string::npos);
  CHECK_FALSE(ParseKeepList("a,,b", &why));
  CHECK(why.find("empty") != std::string::npos);
  CHECK_FALSE(ParseKeepList("a,", &why));
  CHECK_FALSE(ParseKeepList(std::string("a\0b", 3), &why));
  CHECK_FALSE(ParseKeepList(std::string(256, 'x'), &why));
}
