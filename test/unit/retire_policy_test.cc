// The retire verdict (lib/core/retire_policy.h): every rule, without a database.
#include <catch2/catch.hpp>

#include "drain_policy.h"
#include "policy_fixtures.h"
#include "promotion_gate.h"
#include "retire_policy.h"

using namespace dbos_drain;
using namespace dbos_drain::unit;
using S = InFlightStatus;

namespace {

IntakeGroup Started(std::optional<std::string> version, int64_t count, int64_t last_ms, std::string name = "checkout",
                    IntakeKind kind = IntakeKind::kOther) {
  IntakeGroup g;
  g.version = std::move(version);
  g.name = std::move(name);
  g.kind = kind;
  g.count = count;
  g.last_created_at_ms = last_ms;
  return g;
}

FinishGroup Finished(std::string version, int64_t count, int64_t last_ms) {
  FinishGroup f;
  f.version = std::move(version);
  f.count = count;
  f.last_completed_at_ms = last_ms;
  return f;
}

// v1 old, v2 latest; the rest per test.
Snapshot TwoVersions() {
  Snapshot s = MakeSnapshot();
  Register(s, "v1", kNow - 3'600'000);
  Register(s, "v2", kNow - 600'000);
  return s;
}

std::vector<std::string> Codes(const VersionReport& v) {
  std::vector<std::string> out;
  for (const auto& b : v.blockers) out.push_back(b.code);
  return out;
}

}  // namespace

TEST_CASE("retire: an old version with nothing in flight and no recent start is safe to retire", "[retire]") {
  Snapshot s = TwoVersions();
  s.finished.push_back(Finished("v1", 4, kNow - 90'000));
  Report r = BuildReport(s, {});
  const VersionReport* v1 = r.Find("v1");
  REQUIRE(v1);
  CHECK(v1->safe_to_retire);
  CHECK(v1->blockers.empty());
  CHECK(v1->retire_hold == 0);
  CHECK(v1->phase == Phase::kDrained);
  CHECK(v1->eta_seconds == 0.0);
  CHECK(v1->finished_in_window == 4);
  CHECK(v1->drained_since_ms == kNow - 90'000);
  CHECK(v1->intake.window_ms == 120'000);
  CHECK(RetireLine(*v1, r.as_of_ms, r.quiet_period_ms) == "v1 safe to retire: nothing in flight, no start in the last 2m");
}

TEST_CASE("retire: a version that keeps starting work is never safe, though nothing is in flight", "[retire]") {
  Snapshot s = TwoVersions();
  s.intake.push_back(Started("v1", 3, kNow - 1'500, "checkout"));
  s.intake.push_back(Started("v1", 2, kNow - 30'000, "kafka-consumer", IntakeKind::kKafka));
  Report r = BuildReport(s, {});
  const VersionReport* v1 = r.Find("v1");
  REQUIRE(v1);
  CHECK(v1->drained);  // the raw count says nothing in flight...
  CHECK_FALSE(v1->safe_to_retire);  // ...but its pods still start work
  CHECK(Codes(*v1) == std::vector<std::string>{"recent_intake"});
  CHECK(v1->phase == Phase::kActive);
  CHECK(v1->retire_hold == 5);
  CHECK(v1->intake.started == 5);
  CHECK(v1->intake.last_started_at_ms == kNow - 1'500);
  CHECK(v1->intake.by_name == std::map<std::string, int64_t>{{"checkout", 3}, {"kafka-consumer", 2}});
  CHECK(v1->intake.by_kind == std::map<std::string, int64_t>{{"kafka", 2}, {"other", 3}});
  const std::string& m = v1->blockers[0].message;
  CHECK_THAT(m, Catch::Contains("5 workflows of v1 started in the last 2m, the last 1s ago"));
  CHECK_THAT(m, Catch::Contains("by name: checkout (3), kafka-consumer (2)"));
  CHECK_THAT(m, Catch::Contains("route no traffic to them"));
  // Assuming no new start: safe once the quiet period has passed since the last start.
  CHECK(v1->eta_seconds == Approx(118.5));
}

TEST_CASE("retire: in flight blocks; a draining version's eta comes from its finish rate", "[retire]") {
  Snapshot s = TwoVersions();
  s.groups.push_back(Group("v1", S::kPending, 6, std::nullopt, "pod-a", kNow - 300'000));
  s.finished.push_back(Finished("v1", 12, kNow - 1'000));
  Report r = BuildReport(s, {});
  const VersionReport* v1 = r.Find("v1");
  CHECK(Codes(*v1) == std::vector<std::string>{"in_flight"});
  CHECK(v1->phase == Phase::kDraining);
  CHECK(v1->retire_hold == 6);
  CHECK(v1->eta_seconds == Approx(60.0));  // 6 left at 12 per 120 s
  CHECK_FALSE(v1->drained_since_ms);       // not drained
  CHECK_THAT(v1->blockers[0].message, Catch::Contains("6 workflows of v1 in flight (6 pending), oldest started 5m ago"));
  // No finish seen within the window: no estimate.
  Snapshot slow = TwoVersions();
  slow.groups.push_back(Group("v1", S::kPending, 6));
  CHECK_FALSE(BuildReport(slow, {}).Find("v1")->eta_seconds);
}

TEST_CASE("retire: the latest, an unknown and the patching version are never safe", "[retire]") {
  Snapshot s = TwoVersions();
  Register(s, kPatchingVersion, kNow - 7'200'000);
  Report r = BuildReport(s, {});
  const VersionReport* v2 = r.Find("v2");
  CHECK(Codes(*v2) == std::vector<std::string>{"latest"});
  CHECK(v2->phase == Phase::kLatest);
  CHECK(v2->retire_hold == 1);
  CHECK_FALSE(v2->eta_seconds);

  VersionReport typo = FindVersion(r, "v-typo", {});
  CHECK(Codes(typo) == std::vector<std::string>{"unknown_version"});
  CHECK(typo.phase == Phase::kUnknown);
  CHECK(typo.retire_hold == 1);
  PolicyOptions lenient;
  lenient.unknown_version_drained = true;
  VersionReport lenient_typo = FindVersion(r, "v-typo", lenient);
  CHECK(lenient_typo.drained);
  CHECK_FALSE(lenient_typo.safe_to_retire);  // --unknown-version=drained does not make it retirable

  const VersionReport* patching = r.Find(kPatchingVersion);
  CHECK(Codes(*patching) == std::vector<std::string>{"patching"});
  CHECK(patching->drained);
}

TEST_CASE("retire: rows enqueued without a version count toward the latest only", "[retire]") {
  Snapshot s = TwoVersions();
  s.intake.push_back(Started(std::nullopt, 4, kNow - 2'000, "email", IntakeKind::kClientEnqueue));
  s.groups.push_back(Group(std::nullopt, S::kEnqueued, 2, "tasks", ""));
  s.groups.push_back(Group(std::nullopt, S::kPending, 1, std::nullopt, ""));
  Report r = BuildReport(s, {});
  CHECK(r.Find("v1")->safe_to_retire);
  CHECK(r.Find("v2")->intake.by_kind == std::map<std::string, int64_t>{{"client_enqueue", 4}});
  CHECK(r.unassigned_not_queued == StatusCounts{1, 0, 0});
}

TEST_CASE("retire: a version seen only in recent starts is known", "[retire]") {
  Snapshot s = MakeSnapshot(OldShape());
  s.finishes_known = false;
  s.intake.push_back(Started("v9", 1, kNow - 10'000));
  Report r = BuildReport(s, {});
  const VersionReport* v9 = r.Find("v9");
  REQUIRE(v9);
  CHECK(v9->known);
  CHECK(v9->phase == Phase::kActive);
  CHECK_FALSE(v9->finished_in_window);  // the old shape has no completed_at
}

TEST_CASE("retire: a snapshot that did not read the whole quiet period is never taken as quiet", "[retire]") {
  Snapshot s = TwoVersions();
  s.window_ms = 0;  // no retire statement ran
  Report r = BuildReport(s, {});
  CHECK(Codes(*r.Find("v1")) == std::vector<std::string>{"intake_unread"});
  PolicyOptions longer;
  longer.quiet_period_ms = 600'000;
  CHECK_FALSE(BuildReport(TwoVersions(), longer).Find("v1")->safe_to_retire);
}

TEST_CASE("retire: TS SDK session names give executors' connected; none seen means unknown", "[retire]") {
  Snapshot s = TwoVersions();
  Register(s, "v_1", kNow - 5'000'000);  // names with '_' split at the version
  s.groups.push_back(Group("v1", S::kPending, 2, std::nullopt, "pod_a"));
  s.groups.push_back(Group("v1", S::kPending, 1, std::nullopt, "pod-b"));
  s.groups.push_back(Group("v_1", S::kPending, 1, std::nullopt, "x"));

  Report unknown = BuildReport(s, {});
  CHECK_FALSE(unknown.Find("v1")->connectivity_known);
  CHECK(unknown.Find("v1")->executor_connected.empty());
  CHECK_FALSE(unknown.Find("v1")->stuck);

  s.sessions_visible = true;
  s.sdk_sessions = {"dbos_transact_pod_a_v1", "dbos_transact_y_v2"};
  Report r = BuildReport(s, {});
  const VersionReport* v1 = r.Find("v1");
  CHECK(v1->connectivity_known);
  CHECK(v1->executor_connected == std::map<std::string, bool>{{"pod-b", false}, {"pod_a", true}});
  CHECK_FALSE(v1->stuck);
  CHECK(r.Find("v2")->connected_executors == std::set<std::string>{"y"});
  // v_1 has work in flight and no session of its own: stuck.
  const VersionReport* v_1 = r.Find("v_1");
  CHECK(v_1->stuck);
  CHECK(v_1->phase == Phase::kStuck);
  CHECK(Codes(*v_1) == std::vector<std::string>{"in_flight", "stuck"});
  CHECK_THAT(v_1->blockers[1].message, Catch::Contains("DBOS__VMID set to each executor holding PENDING rows (x)"));
  CHECK_THAT(v_1->blockers[1].message, Catch::Contains("DBOS Conductor"));
  CHECK_FALSE(v_1->eta_seconds);

  // Its pod comes back: no longer stuck.
  s.sdk_sessions.push_back("dbos_transact_x_v_1");
  CHECK_FALSE(BuildReport(s, {}).Find("v_1")->stuck);
}

TEST_CASE("retire: a session name cut at 63 bytes still matches its executor", "[retire]") {
  const std::string executor(50, 'e');
  const std::string version = "2026-11-26-build-1234";
  CHECK(SdkSessionName(executor, version).size() == 63);
  Snapshot s = TwoVersions();
  Register(s, version, kNow - 9'000'000);
  s.groups.push_back(Group(version, S::kPending, 1, std::nullopt, executor));
  s.sessions_visible = true;
  s.sdk_sessions = {SdkSessionName(executor, version), "dbos_transact_w_v2"};
  Report r = BuildReport(s, {});
  CHECK(r.Find(version)->executor_connected.at(executor));
  CHECK_FALSE(r.Find(version)->stuck);
}

TEST_CASE("retire: Python's constant session name says nothing about executors", "[retire]") {
  Snapshot s = TwoVersions();
  s.groups.push_back(Group("v1", S::kPending, 1));
  s.sessions_visible = true;
  s.sdk_sessions = {"dbos_transact_"};  // what a LIKE 'dbos\_transact\_%' can return at most for Python: nothing useful
  Report r = BuildReport(s, {});
  CHECK_FALSE(r.Find("v1")->connectivity_known);
  CHECK_FALSE(r.Find("v1")->stuck);
}

TEST_CASE("retire: JudgeVersions and the promotion gate agree with safe_to_retire", "[retire]") {
  Snapshot s = TwoVersions();
  Register(s, "v0", kNow - 9'000'000);
  s.intake.push_back(Started("v1", 1, kNow - 5'000));
  Report r = BuildReport(s, {});
  Judgement j = JudgeVersions(r, {"v0", "v1"}, {});
  CHECK_FALSE(j.all_safe);
  CHECK(j.all_drained);
  CHECK(j.versions.size() == 2);
  CHECK(JudgeVersions(r, {"v0"}, {}).all_safe);
  CHECK(JudgeVersions(r, {}, {}).all_safe);

  GateSelection sel;
  sel.versions = {"v0", "v1"};
  GateVerdict g = DecideGate(sel, r, {});
  CHECK_FALSE(g.safe_to_retire);
  CHECK(g.drained);
  CHECK(g.summary == "v1 not safe to retire: recent_intake (1 workflow started in the last 2m, last 5s ago)");
}

TEST_CASE("retire: the report computes derived values once", "[retire]") {
  Snapshot s = TwoVersions();
  s.groups.push_back(Group("v1", S::kPending, 1, std::nullopt, "w", kNow + 5'000));  // app clock ahead
  Report r = BuildReport(s, {});
  CHECK(r.Find("v1")->oldest_in_flight_age_ms == 0);  // clamped
  CHECK(r.Find("nope") == nullptr);
  CHECK(r.quiet_period_ms == 120'000);
  for (size_t i = 0; i < r.versions.size(); ++i) CHECK(r.Find(r.versions[i].version) == &r.versions[i]);
}

// A standby whose replay is paused: its data is 15 s old, past the default --max-replica-lag (10s).
namespace {
StandbyObservation PausedStandby(int64_t last_replay_ms) {
  StandbyObservation o;
  o.in_recovery = true;
  o.now_ms = kNow;
  o.receive_lsn = "0/3001200";
  o.replay_lsn = "0/3001158";
  o.replay_behind_bytes = 168;
  o.last_replay_ms = last_replay_ms;
  o.replay_paused = true;
  o.receiver_running = true;
  o.receiver_status = "streaming";
  o.last_message_ms = kNow - 1'000;
  return o;
}
}  // namespace

TEST_CASE("retire: a standby past --max-replica-lag blocks every version (replica_lag)", "[retire][replica]") {
  Snapshot s = TwoVersions();
  s.finished.push_back(Finished("v1", 4, kNow - 90'000));
  s.standby = PausedStandby(kNow - 15'000);
  Report r = BuildReport(s, {});
  REQUIRE_FALSE(r.replica.fresh);
  REQUIRE(r.versions.size() == 2);
  for (const auto& v : r.versions) {
    INFO(v.version);
    CHECK_FALSE(v.safe_to_retire);
    CHECK(v.retire_hold >= 1);
    CHECK(v.phase == Phase::kUnknown);
    CHECK_FALSE(v.eta_seconds.has_value());
    REQUIRE_FALSE(v.blockers.empty());
    const Blocker& b = v.blockers.back();
    CHECK(b.code == "replica_lag");
    CHECK_THAT(b.message, Catch::StartsWith("replica lag 15.0s exceeds --max-replica-lag 10s"));
    CHECK_THAT(b.message, Catch::Contains("replay is paused"));
    CHECK_THAT(b.message, Catch::Contains("Read the primary (--database-url)"));
  }
  // v1 alone (old, nothing in flight, no start) would be safe: replica_lag is its only blocker.
  const VersionReport* v1 = r.Find("v1");
  REQUIRE(v1);
  CHECK(Codes(*v1) == std::vector<std::string>{"replica_lag"});
  CHECK(RetireLine(*v1, r.as_of_ms, r.quiet_period_ms) ==
        "v1 not safe to retire: replica_lag (replica lag 15.0s exceeds --max-replica-lag 10s)");
  CHECK(Codes(*r.Find("v2")) == std::vector<std::string>{"latest", "replica_lag"});
  // A version the report does not have: its unknown_version message is its own, without the lag.
  VersionReport ghost = FindVersion(r, "v9", {});
  CHECK(Codes(ghost) == std::vector<std::string>{"unknown_version", "replica_lag"});
  CHECK_THAT(ghost.blockers.front().message, !Catch::StartsWith("replica lag"));
  CHECK_FALSE(JudgeVersions(r, {"v1"}, {}).all_safe);

  // Lag unknown (nothing replayed since the standby started): the same blocker.
  StandbyObservation unknown = PausedStandby(0);
  unknown.last_replay_ms.reset();
  unknown.receiver_running = false;
  unknown.receiver_status.reset();
  unknown.last_message_ms.reset();
  s.standby = unknown;
  Report u = BuildReport(s, {});
  REQUIRE(u.Find("v1"));
  CHECK(Codes(*u.Find("v1")) == std::vector<std::string>{"replica_lag"});
  CHECK_THAT(u.Find("v1")->blockers.back().message, Catch::StartsWith("replica lag unknown"));

  // Within the bound (5 s behind) the primary's verdict: v1 safe.
  s.standby = PausedStandby(kNow - 5'000);
  Report fresh = BuildReport(s, {});
  REQUIRE(fresh.Find("v1"));
  CHECK(fresh.Find("v1")->safe_to_retire);
  CHECK(fresh.Find("v1")->blockers.empty());
}

TEST_CASE("retire: DBOSClient sessions (dbos_transact_client) are no executor of any version", "[retire]") {
  Snapshot s = TwoVersions();
  Register(s, "client", kNow - 9'000'000);  // even a version named like the client's session
  s.groups.push_back(Group("client", S::kPending, 1, std::nullopt, "pod-a"));
  s.sessions_visible = true;
  s.sdk_sessions = {"dbos_transact_client"};
  Report r = BuildReport(s, {});
  CHECK_FALSE(r.Find("client")->connectivity_known);
  CHECK_FALSE(r.Find("client")->stuck);
  std::map<std::string, VersionReport> versions{{"client", {}}, {"v1", {}}};
  CHECK_FALSE(ParseSdkSession("dbos_transact_client", versions));
  CHECK_FALSE(ParseSdkSession("dbos_transact", versions));
  CHECK_FALSE(ParseSdkSession("my-go-app", versions));
  CHECK(ParseSdkSession("dbos_transact_pod-a_client", versions) == std::make_pair(std::string("pod-a"), std::string("client")));
}
