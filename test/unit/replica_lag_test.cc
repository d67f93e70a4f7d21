// Issue 15: the standby assessment (lib/core/replica_lag.h) and what it does to the verdicts
// (lib/core/drain_policy.h). No database: observations in, assessment and report out.
#include <catch2/catch.hpp>

#include "drain_policy.h"
#include "prometheus_parse.h"
#include "prometheus_text.h"
#include "replica_lag.h"
#include "report_json.h"

#include <cmath>

using namespace dbos_drain;
using std::chrono::milliseconds;

namespace {

constexpr int64_t kNow = 1'800'000'000'000;
constexpr milliseconds kMax(10'000);

// A standby that streams and has replayed everything it received; the last transaction 1 h ago
// (an idle primary) and the last message 20 s ago (idle links are quiet for up to 30 s).
StandbyObservation CaughtUpOnIdlePrimary() {
  StandbyObservation o;
  o.in_recovery = true;
  o.now_ms = kNow;
  o.receive_lsn = "0/3001158";
  o.replay_lsn = "0/3001158";
  o.replay_behind_bytes = 0;
  o.last_replay_ms = kNow - 3'600'000;
  o.receiver_running = true;
  o.receiver_status = "streaming";
  o.last_message_ms = kNow - 20'000;
  o.receiver_timeout_ms = 60'000;
  return o;
}

Snapshot SnapshotWithDrainedV1(const StandbyObservation& standby) {
  Snapshot s;
  s.as_of_ms = kNow + 2;
  s.shape.has_application_versions = true;
  s.registered.push_back({"v1", kNow - 7'200'000, kNow - 7'200'000});
  s.registered.push_back({"v2", kNow - 3'600'000, kNow - 3'600'000});
  s.standby = standby;
  return s;
}

}  // namespace

TEST_CASE("replica: a primary has no lag and its data is from the read", "[replica]") {
  StandbyObservation o;
  o.now_ms = kNow;
  auto a = AssessReplica(o, kMax);
  CHECK_FALSE(a.standby);
  CHECK(a.state == "primary");
  CHECK(a.fresh);
  CHECK_FALSE(a.lag_seconds.has_value());
  CHECK(a.data_as_of_ms == kNow);
}

TEST_CASE("replica: caught up on an idle primary is lag 0, however old the last transaction", "[replica]") {
  auto a = AssessReplica(CaughtUpOnIdlePrimary(), kMax);
  CHECK(a.standby);
  CHECK(a.state == "caught_up");
  CHECK(a.lag_seconds == Approx(0.0));
  CHECK(a.fresh);
  CHECK(a.data_as_of_ms == kNow);
}

TEST_CASE("replica: a role that sees only the receiver's pid is judged on the positions alone", "[replica]") {
  auto o = CaughtUpOnIdlePrimary();
  o.receiver_status.reset();
  o.last_message_ms.reset();
  CHECK(AssessReplica(o, kMax).state == "caught_up");
  o.replay_behind_bytes = 4096;  // WAL waiting: measured from the last replayed transaction
  auto a = AssessReplica(o, kMax);
  CHECK(a.state == "replaying");
  CHECK(a.lag_seconds == Approx(3600.0));
  CHECK_FALSE(a.fresh);
}

TEST_CASE("replica: replay paused with WAL waiting is measured from the last replayed transaction", "[replica]") {
  auto o = CaughtUpOnIdlePrimary();
  o.replay_paused = true;
  o.replay_behind_bytes = 120;
  o.last_replay_ms = kNow - 4'000;
  auto a = AssessReplica(o, kMax);
  CHECK(a.state == "replay_paused");
  CHECK(a.lag_seconds == Approx(4.0));
  CHECK(a.fresh);  // within the bound: the newest work it may miss is at most 4 s old
  CHECK(a.data_as_of_ms == kNow - 4'000);
  o.last_replay_ms = kNow - 10'001;
  a = AssessReplica(o, kMax);
  CHECK_FALSE(a.fresh);
  REQUIRE(a.reason);
  CHECK_THAT(*a.reason, Catch::Contains("replica lag 10.0s exceeds --max-replica-lag 10s"));
  CHECK_THAT(*a.reason, Catch::Contains("replay is paused"));
}

TEST_CASE("replica: paused with nothing waiting is still caught up", "[replica]") {
  auto o = CaughtUpOnIdlePrimary();
  o.replay_paused = true;
  CHECK(AssessReplica(o, kMax).state == "caught_up");
}

TEST_CASE("replica: a receiver that does not stream (primary gone) is never taken as caught up", "[replica]") {
  auto o = CaughtUpOnIdlePrimary();
  o.receiver_running = false;
  o.receiver_status.reset();
  o.last_message_ms.reset();
  auto a = AssessReplica(o, kMax);
  CHECK(a.state == "receiver_disconnected");
  CHECK(a.lag_seconds == Approx(3600.0));
  CHECK_FALSE(a.fresh);
  CHECK_THAT(*a.reason, Catch::Contains("not streaming"));

  o.receiver_running = true;
  o.receiver_status = "waiting";
  o.last_message_ms = kNow - 3'000;  // everything received is replayed: the data reaches that message
  a = AssessReplica(o, kMax);
  CHECK(a.state == "receiver_disconnected");
  CHECK(a.lag_seconds == Approx(3.0));
  CHECK(a.fresh);
}

TEST_CASE("replica: a primary silent past wal_receiver_timeout/2 + slack is a lost link", "[replica]") {
  auto o = CaughtUpOnIdlePrimary();
  o.last_message_ms = kNow - (30'000 + kSilenceSlack.count());  // at the limit: still an idle link
  CHECK(AssessReplica(o, kMax).state == "caught_up");
  o.last_message_ms = kNow - (30'000 + kSilenceSlack.count() + 1);
  auto a = AssessReplica(o, kMax);
  CHECK(a.state == "receiver_silent");
  CHECK(a.lag_seconds == Approx(32.001));
  CHECK_FALSE(a.fresh);
}

TEST_CASE("replica: nothing replayed since start and no message: lag unknown, never fresh", "[replica]") {
  auto o = CaughtUpOnIdlePrimary();
  o.receiver_running = false;
  o.receiver_status.reset();
  o.last_message_ms.reset();
  o.last_replay_ms.reset();
  auto a = AssessReplica(o, milliseconds(86'400'000));
  CHECK_FALSE(a.lag_seconds.has_value());
  CHECK_FALSE(a.fresh);
  CHECK_THAT(*a.reason, Catch::Contains("replica lag unknown"));
  CHECK(a.data_as_of_ms == kNow);
}

TEST_CASE("replica: LSNs unknown (never streamed) is not caught up", "[replica]") {
  auto o = CaughtUpOnIdlePrimary();
  o.receive_lsn.reset();
  o.replay_behind_bytes.reset();
  CHECK(AssessReplica(o, kMax).state != "caught_up");
}

TEST_CASE("replica: past the bound no version is drained; within it the verdicts are the primary's", "[replica][policy]") {
  PolicyOptions options;
  options.max_replica_lag = kMax;
  auto fresh = BuildReport(SnapshotWithDrainedV1(CaughtUpOnIdlePrimary()), options);
  REQUIRE(fresh.versions.size() == 2);
  CHECK(fresh.versions[0].drained);
  CHECK_FALSE(fresh.versions[0].reason.has_value());
  CHECK(fresh.replica.standby);
  CHECK(fresh.as_of_ms == kNow + 2);  // caught up: the read's time

  auto stale_obs = CaughtUpOnIdlePrimary();
  stale_obs.replay_paused = true;
  stale_obs.replay_behind_bytes = 64;
  stale_obs.last_replay_ms = kNow - 15'000;
  auto stale = BuildReport(SnapshotWithDrainedV1(stale_obs), options);
  CHECK(stale.as_of_ms == kNow - 15'000);  // the time the data is from
  for (const auto& v : stale.versions) {
    CHECK_FALSE(v.drained);
    REQUIRE(v.reason);
    CHECK_THAT(*v.reason, Catch::StartsWith("replica lag 15.0s exceeds --max-replica-lag 10s"));
    CHECK_THAT(SummaryLine(v, stale.as_of_ms), Catch::Contains("not drained: replica lag"));
  }
  // A version the report does not have: unknown, and the replica reason first.
  auto missing = FindVersion(stale, "v9", options);
  CHECK_FALSE(missing.drained);
  CHECK_THAT(*missing.reason, Catch::StartsWith("replica lag"));
  CHECK_THAT(*missing.reason, Catch::Contains("is unknown"));
  // --unknown-version=drained does not get around it either.
  options.unknown_version_drained = true;
  CHECK_FALSE(FindVersion(BuildReport(SnapshotWithDrainedV1(stale_obs), options), "v9", options).drained);
  // A wider bound accepts the same data.
  options.max_replica_lag = milliseconds(20'000);
  CHECK(BuildReport(SnapshotWithDrainedV1(stale_obs), options).versions[0].drained);
}

// The report's encodings of the replica (JSON top level, Prometheus gauges).

TEST_CASE("replica: JSON says standby and the lag; null on a primary", "[replica][json]") {
  PolicyOptions options;
  Snapshot primary_snap = SnapshotWithDrainedV1(StandbyObservation{});
  auto primary = ReportToJson(BuildReport(primary_snap, options));
  CHECK(primary["standby"] == false);
  CHECK(primary["replica"].is_null());

  auto obs = CaughtUpOnIdlePrimary();
  obs.replay_paused = true;
  obs.replay_behind_bytes = 64;
  obs.last_replay_ms = kNow - 15'000;
  auto doc = ReportToJson(BuildReport(SnapshotWithDrainedV1(obs), options));
  CHECK(doc["standby"] == true);
  CHECK(doc["as_of"] == FormatTimestamp(kNow - 15'000));
  const auto& r = doc["replica"];
  CHECK(r["state"] == "replay_paused");
  CHECK(r["lag_seconds"] == 15.0);
  CHECK(r["max_lag_seconds"] == 10.0);
  CHECK(r["within_bound"] == false);
  CHECK_THAT(r["reason"].get<std::string>(), Catch::StartsWith("replica lag 15.0s"));
  CHECK(r["replay_paused"] == true);
  CHECK(r["receive_lsn"] == "0/3001158");
  CHECK(r["receiver_status"] == "streaming");
  CHECK(r["receiver_running"] == true);
  CHECK(r["last_replay_at"] == FormatTimestamp(kNow - 15'000));
  CHECK(r["receiver_last_message_at"] == FormatTimestamp(kNow - 20'000));
  CHECK(r["read_at"] == FormatTimestamp(kNow));
  CHECK(doc["versions"][0]["drained"] == false);
}

TEST_CASE("replica: Prometheus gauges for standby, lag and the bound", "[replica][metrics]") {
  PolicyOptions options;
  Report primary = BuildReport(SnapshotWithDrainedV1(StandbyObservation{}), options);
  PrometheusInput in;
  in.report = &primary;
  in.database_up = true;
  in.max_replica_lag_seconds = 10;
  auto p = prom::ParseExposition(EncodePrometheus(in));
  CHECK(p.Value("dbos_drain_database_standby") == 0.0);
  CHECK_FALSE(p.Value("dbos_drain_replica_lag_seconds"));  // absent on a primary
  CHECK(p.Value("dbos_drain_max_replica_lag_seconds") == 10.0);
  CHECK(p.types["dbos_drain_database_standby"] == "gauge");

  auto obs = CaughtUpOnIdlePrimary();
  obs.replay_behind_bytes = 64;
  obs.last_replay_ms = kNow - 2'500;
  Report behind = BuildReport(SnapshotWithDrainedV1(obs), options);
  in.report = &behind;
  auto b = prom::ParseExposition(EncodePrometheus(in));
  CHECK(b.Value("dbos_drain_database_standby") == 1.0);
  CHECK(b.Value("dbos_drain_replica_lag_seconds") == 2.5);

  obs.receiver_running = false;
  obs.receiver_status.reset();
  obs.last_message_ms.reset();
  obs.last_replay_ms.reset();
  Report unknown = BuildReport(SnapshotWithDrainedV1(obs), options);
  in.report = &unknown;
  auto u = prom::ParseExposition(EncodePrometheus(in));
  REQUIRE(u.Value("dbos_drain_replica_lag_seconds"));
  CHECK(std::isinf(*u.Value("dbos_drain_replica_lag_seconds")));
  // Without a report the bound is still shown.
  in.report = nullptr;
  CHECK(prom::ParseExposition(EncodePrometheus(in)).Value("dbos_drain_max_replica_lag_seconds") == 10.0);
}

TEST_CASE("replica: a standby snapshot read on another server than the replay position is of unknown lag",
          "[replica][pooler]") {
  StandbyObservation o;  // what SystemDatabase keeps when a pooler moved the snapshot (issue 20)
  o.in_recovery = true;
  o.now_ms = kNow;
  o.other_server = true;
  ReplicaAssessment a = AssessReplica(o, kMax);
  CHECK(a.standby);
  CHECK(a.state == "unknown_server");
  CHECK_FALSE(a.lag_seconds);
  CHECK_FALSE(a.fresh);
  REQUIRE(a.reason);
  CHECK(a.reason->rfind("replica lag unknown: the snapshot ran on a standby other than", 0) == 0);
  // On a primary the data is the read's, whichever server answered the check.
  o.in_recovery = false;
  CHECK(AssessReplica(o, kMax).fresh);
  CHECK(AssessReplica(o, kMax).state == "primary");
}
