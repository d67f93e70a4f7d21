// The drain policy (lib/core/drain_policy.h): every rule, without a database.
#include <catch2/catch.hpp>

#include "drain_policy.h"
#include "policy_fixtures.h"

using namespace dbos_drain;
using namespace dbos_drain::unit;
using S = InFlightStatus;

TEST_CASE("a registered version with nothing in flight is known and drained", "[policy]") {
  Snapshot s = MakeSnapshot();
  Register(s, "v1", 1000);
  Report r = BuildReport(s, {});
  const auto* v1 = Entry(r, "v1");
  REQUIRE(v1);
  CHECK(v1->known);
  CHECK(v1->drained);
  CHECK_FALSE(v1->reason);
  CHECK(v1->in_flight.total() == 0);
  CHECK(v1->registered_at_ms == 1000);
  CHECK(SummaryLine(*v1, s.as_of_ms) == "v1 drained: nothing in flight");
}

TEST_CASE("each in-flight status keeps a version from draining", "[policy]") {
  for (S status : {S::kPending, S::kEnqueued, S::kDelayed}) {
    Snapshot s = MakeSnapshot();
    Register(s, "v1", 1000);
    s.groups.push_back(Group("v1", status, 1, status == S::kPending ? std::nullopt : std::optional<std::string>("q")));
    Report r = BuildReport(s, {});
    const auto* v1 = Entry(r, "v1");
    REQUIRE(v1);
    CHECK(v1->known);
    CHECK_FALSE(v1->drained);
    CHECK_FALSE(v1->reason);  // in-flight work is not a "reason": the counts say it
    CHECK(v1->in_flight.total() == 1);
  }
}

TEST_CASE("a version seen only in in-flight rows is known without registration", "[policy]") {
  Snapshot s = MakeSnapshot(OldShape());
  s.groups.push_back(Group("v7", S::kPending, 2));
  Report r = BuildReport(s, {});
  const auto* v7 = Entry(r, "v7");
  REQUIRE(v7);
  CHECK(v7->known);
  CHECK_FALSE(v7->drained);
  CHECK(v7->in_flight.pending == 2);
  CHECK_FALSE(v7->registered_at_ms);
}

TEST_CASE("a version proven by the history probe is known and drained", "[policy]") {
  Snapshot s = MakeSnapshot(OldShape());
  s.versions_with_history.insert("v0");
  s.versions_probed = {"v0", "typo"};
  Report r = BuildReport(s, {});
  const auto* v0 = Entry(r, "v0");
  REQUIRE(v0);
  CHECK(v0->known);
  CHECK(v0->drained);
  CHECK(r.versions_probed.count("typo") == 1);
  CHECK_FALSE(Entry(r, "typo"));
  CHECK_FALSE(FindVersion(r, "typo", {}).known);
}

TEST_CASE("an unknown version is not drained and says why", "[policy]") {
  Snapshot s = MakeSnapshot();
  Register(s, "v1", 1000);
  Report r = BuildReport(s, {});
  VersionReport v = FindVersion(r, "v1-typo", {});
  CHECK(v.version == "v1-typo");
  CHECK_FALSE(v.known);
  CHECK_FALSE(v.drained);
  REQUIRE(v.reason);
  CHECK_THAT(*v.reason, Catch::Contains("\"v1-typo\" is unknown"));
  CHECK_THAT(*v.reason, Catch::Contains("dbos.application_versions"));
  CHECK_THAT(*v.reason, Catch::Contains("--unknown-version=drained"));
  CHECK_THAT(SummaryLine(v, r.as_of_ms), Catch::StartsWith("v1-typo not drained: version \"v1-typo\" is unknown"));
}

TEST_CASE("the unknown-version reason fits schemas without application_versions", "[policy]") {
  Report r = BuildReport(MakeSnapshot(OldShape()), {});
  VersionReport v = FindVersion(r, "vX", {});
  REQUIRE(v.reason);
  CHECK_THAT(*v.reason, !Catch::Contains("application_versions"));
  CHECK_THAT(*v.reason, Catch::Contains("no workflow of it in dbos.workflow_status"));
}

TEST_CASE("--unknown-version=drained lets an unknown version through with a note", "[policy]") {
  PolicyOptions opt;
  opt.unknown_version_drained = true;
  Report r = BuildReport(MakeSnapshot(OldShape()), opt);
  VersionReport v = FindVersion(r, "vX", opt);
  CHECK_FALSE(v.known);
  CHECK(v.drained);
  CHECK_FALSE(v.reason);
  REQUIRE(v.note);
  CHECK_THAT(*v.note, Catch::Contains("--unknown-version=drained"));
}

TEST_CASE("--unknown-version=drained does not change known versions", "[policy]") {
  PolicyOptions opt;
  opt.unknown_version_drained = true;
  Snapshot s = MakeSnapshot();
  s.groups.push_back(Group("v1", S::kPending, 1));
  Report r = BuildReport(s, opt);
  CHECK_FALSE(FindVersion(r, "v1", opt).drained);
}

TEST_CASE("latest is the highest version_timestamp, not the newest row or the largest name", "[policy]") {
  Snapshot s = MakeSnapshot();
  Register(s, "v9", 100);
  Register(s, "v3", 300);
  Register(s, "v10", 200);
  Report r = BuildReport(s, {});
  REQUIRE(r.latest_version);
  CHECK(*r.latest_version == "v3");
  CHECK(Entry(r, "v3")->latest);
  CHECK_FALSE(Entry(r, "v9")->latest);
  CHECK_FALSE(Entry(r, "v10")->latest);
  // Registered versions come in registration order.
  REQUIRE(r.versions.size() == 3);
  CHECK(r.versions[0].version == "v9");
  CHECK(r.versions[1].version == "v10");
  CHECK(r.versions[2].version == "v3");
}

TEST_CASE("a version_timestamp tie is broken by created_at, then name", "[policy]") {
  Snapshot s = MakeSnapshot();
  s.registered.push_back({"a", 500, 10});
  s.registered.push_back({"b", 500, 20});
  CHECK(*BuildReport(s, {}).latest_version == "b");
  Snapshot t = MakeSnapshot();
  t.registered.push_back({"b", 500, 20});
  t.registered.push_back({"c", 500, 20});
  t.registered.push_back({"a", 500, 20});
  CHECK(*BuildReport(t, {}).latest_version == "c");
}

TEST_CASE("unregistered versions follow the registered ones, by name", "[policy]") {
  Snapshot s = MakeSnapshot();
  Register(s, "v2", 200);
  s.groups.push_back(Group("b-unregistered", S::kPending, 1));
  s.groups.push_back(Group("a-unregistered", S::kPending, 1));
  Report r = BuildReport(s, {});
  REQUIRE(r.versions.size() == 3);
  CHECK(r.versions[0].version == "v2");
  CHECK(r.versions[1].version == "a-unregistered");
  CHECK(r.versions[2].version == "b-unregistered");
}

TEST_CASE("NULL-version rows count toward the latest version only", "[policy]") {
  Snapshot s = MakeSnapshot();
  Register(s, "v1", 100);
  Register(s, "v2", 200);
  s.groups.push_back(Group(std::nullopt, S::kEnqueued, 5, "tasks", ""));
  s.groups.push_back(Group("v2", S::kPending, 1, std::nullopt, "worker-v2"));
  Report r = BuildReport(s, {});
  CHECK(r.unassigned.enqueued == 5);
  CHECK(r.unassigned.total() == 5);
  REQUIRE(r.unassigned_queues.count("tasks"));
  CHECK(r.unassigned_queues.at("tasks").enqueued == 5);

  const auto* v1 = Entry(r, "v1");
  const auto* v2 = Entry(r, "v2");
  REQUIRE(v1);
  REQUIRE(v2);
  CHECK(v1->drained);  // never blocked by rows it will not take
  CHECK(v1->in_flight.total() == 0);
  CHECK(v1->unassigned_in_flight == 0);
  CHECK(v2->latest);
  CHECK_FALSE(v2->drained);
  CHECK(v2->in_flight.enqueued == 5);
  CHECK(v2->in_flight.pending == 1);
  CHECK(v2->in_flight.total() == 6);
  CHECK(v2->unassigned_in_flight == 5);
  CHECK(v2->queues.at("tasks").enqueued == 5);
  CHECK(v2->executors.at("").enqueued == 5);
}

TEST_CASE("NULL-version rows alone keep the latest version from draining", "[policy]") {
  Snapshot s = MakeSnapshot();
  Register(s, "v2", 200);
  s.groups.push_back(Group(std::nullopt, S::kEnqueued, 1, "tasks", ""));
  Report r = BuildReport(s, {});
  CHECK_FALSE(Entry(r, "v2")->drained);
}

TEST_CASE("without application_versions NULL-version rows block no version", "[policy]") {
  Snapshot s = MakeSnapshot(OldShape());
  s.groups.push_back(Group(std::nullopt, S::kEnqueued, 3, "tasks", ""));
  s.versions_with_history.insert("v1");
  Report r = BuildReport(s, {});
  CHECK_FALSE(r.latest_version);
  CHECK(r.unassigned.enqueued == 3);
  for (const auto& v : r.versions) {
    CHECK_FALSE(v.latest);
    CHECK(v.in_flight.total() == 0);
  }
  CHECK(FindVersion(r, "v1", {}).drained);
  // The queue still shows the work.
  CHECK(r.queues.at("tasks").in_flight.enqueued == 3);
}

TEST_CASE("old schemas have no latest version", "[policy]") {
  Snapshot s = MakeSnapshot(OldShape());
  s.groups.push_back(Group("v1", S::kPending, 1));
  s.groups.push_back(Group("v2", S::kPending, 1));
  Report r = BuildReport(s, {});
  CHECK_FALSE(r.latest_version);
  for (const auto& v : r.versions) CHECK_FALSE(v.latest);
}

TEST_CASE("PATCHING_ENABLED is flagged with a note", "[policy]") {
  Snapshot s = MakeSnapshot();
  Register(s, "PATCHING_ENABLED", 100);
  s.groups.push_back(Group("PATCHING_ENABLED", S::kPending, 2));
  Report r = BuildReport(s, {});
  const auto* p = Entry(r, "PATCHING_ENABLED");
  REQUIRE(p);
  CHECK(p->patching);
  REQUIRE(p->note);
  CHECK_THAT(*p->note, Catch::Contains("versions do not separate deployments"));
  CHECK_FALSE(p->drained);
  CHECK_FALSE(p->reason);

  Snapshot idle = MakeSnapshot();
  Register(idle, "PATCHING_ENABLED", 100);
  Register(idle, "v1", 50);
  Report ri = BuildReport(idle, {});
  CHECK(Entry(ri, "PATCHING_ENABLED")->drained);
  CHECK(Entry(ri, "PATCHING_ENABLED")->patching);
  CHECK_FALSE(Entry(ri, "v1")->patching);
  CHECK_FALSE(Entry(ri, "v1")->note);
}

TEST_CASE("an unknown PATCHING_ENABLED is still flagged", "[policy]") {
  Report r = BuildReport(MakeSnapshot(), {});
  VersionReport v = FindVersion(r, "PATCHING_ENABLED", {});
  CHECK(v.patching);
  CHECK_FALSE(v.drained);
}

TEST_CASE("an empty queue name means not queued", "[policy]") {
  Snapshot s = MakeSnapshot(OldShape());
  s.groups.push_back(Group("v1", S::kPending, 2, std::string("")));
  s.groups.push_back(Group("v1", S::kPending, 1, std::nullopt));
  s.groups.push_back(Group("v1", S::kEnqueued, 4, std::string("tasks")));
  Report r = BuildReport(s, {});
  const auto* v1 = Entry(r, "v1");
  REQUIRE(v1);
  CHECK(v1->not_queued.pending == 3);
  CHECK(v1->not_queued.total() == 3);
  CHECK(v1->queues.size() == 1);
  CHECK(v1->queues.count("") == 0);
  CHECK(v1->queues.at("tasks").enqueued == 4);
  CHECK(r.queues.count("") == 0);
  CHECK(r.queues.at("tasks").in_flight.enqueued == 4);
}

TEST_CASE("counts are broken down by executor", "[policy]") {
  Snapshot s = MakeSnapshot();
  Register(s, "v1", 100);
  s.groups.push_back(Group("v1", S::kPending, 2, std::nullopt, "pod-a"));
  s.groups.push_back(Group("v1", S::kEnqueued, 3, "tasks", "pod-a"));
  s.groups.push_back(Group("v1", S::kPending, 1, std::nullopt, "pod-b"));
  s.groups.push_back(Group("v1", S::kDelayed, 1, "later", ""));
  Report r = BuildReport(s, {});
  const auto* v1 = Entry(r, "v1");
  REQUIRE(v1);
  REQUIRE(v1->executors.size() == 3);
  CHECK(v1->executors.at("pod-a") == StatusCounts{2, 3, 0});
  CHECK(v1->executors.at("pod-b") == StatusCounts{1, 0, 0});
  CHECK(v1->executors.at("") == StatusCounts{0, 0, 1});
  CHECK(v1->in_flight == StatusCounts{3, 3, 1});
  CHECK(v1->queues.at("later").delayed == 1);
}

TEST_CASE("oldest in flight is the minimum created_at over all groups", "[policy]") {
  Snapshot s = MakeSnapshot();
  s.groups.push_back(Group("v1", S::kPending, 1, std::nullopt, "a", kNow - 1000));
  s.groups.push_back(Group("v1", S::kEnqueued, 1, "q", "a", kNow - 9000));
  s.groups.push_back(Group("v1", S::kDelayed, 1, "q", "b", kNow - 5000));
  Report r = BuildReport(s, {});
  REQUIRE(Entry(r, "v1")->oldest_in_flight_ms);
  CHECK(*Entry(r, "v1")->oldest_in_flight_ms == kNow - 9000);
  Snapshot idle = MakeSnapshot();
  Register(idle, "v1", 1);
  CHECK_FALSE(Entry(BuildReport(idle, {}), "v1")->oldest_in_flight_ms);
}

TEST_CASE("the summary line names counts, queues and the oldest age", "[policy]") {
  Snapshot s = MakeSnapshot();
  Register(s, "v1", 100);
  const int64_t oldest = kNow - (2 * 3600 + 5 * 60) * 1000LL;
  s.groups.push_back(Group("v1", S::kPending, 3, std::nullopt, "worker-v1", oldest + 5000));
  s.groups.push_back(Group("v1", S::kEnqueued, 4, "tasks", "worker-v1", oldest));
  Report r = BuildReport(s, {});
  CHECK(SummaryLine(*Entry(r, "v1"), r.as_of_ms) == "v1 not drained: 3 pending, 4 enqueued (tasks), oldest 2h 5m");
}

TEST_CASE("the summary line lists every queue holding enqueued or delayed rows", "[policy]") {
  Snapshot s = MakeSnapshot();
  s.groups.push_back(Group("v1", S::kEnqueued, 1, "alpha", "w", kNow - 45'000));
  s.groups.push_back(Group("v1", S::kEnqueued, 2, "beta", "w", kNow - 10'000));
  s.groups.push_back(Group("v1", S::kDelayed, 2, "gamma", "w", kNow - 10'000));
  Report r = BuildReport(s, {});
  CHECK(SummaryLine(*Entry(r, "v1"), r.as_of_ms) ==
        "v1 not drained: 3 enqueued (alpha, beta), 2 delayed (gamma), oldest 45s");
}

TEST_CASE("a created_at in the future gives an age of zero, not a negative one", "[policy]") {
  Snapshot s = MakeSnapshot();
  s.groups.push_back(Group("v1", S::kPending, 1, std::nullopt, "w", kNow + 60'000));
  Report r = BuildReport(s, {});
  CHECK(SummaryLine(*Entry(r, "v1"), r.as_of_ms) == "v1 not drained: 1 pending, oldest 0ms");
}

TEST_CASE("queue totals sum every version and keep the queues table's settings", "[policy]") {
  Snapshot s = MakeSnapshot();
  Register(s, "v1", 100);
  Register(s, "v2", 200);
  s.queues.push_back({"tasks", std::nullopt, 2});
  s.queues.push_back({"idle", 10, std::nullopt});
  s.groups.push_back(Group("v1", S::kEnqueued, 4, "tasks"));
  s.groups.push_back(Group("v2", S::kPending, 1, "tasks"));
  s.groups.push_back(Group(std::nullopt, S::kEnqueued, 2, "tasks", ""));
  s.groups.push_back(Group("v2", S::kEnqueued, 1, "unregistered-q"));
  Report r = BuildReport(s, {});
  const auto& tasks = r.queues.at("tasks");
  CHECK(tasks.registered);
  CHECK_FALSE(tasks.concurrency);
  CHECK(tasks.worker_concurrency == 2);
  CHECK(tasks.in_flight == StatusCounts{1, 6, 0});
  CHECK(r.queues.at("idle").registered);
  CHECK(r.queues.at("idle").concurrency == 10);
  CHECK(r.queues.at("idle").in_flight.total() == 0);
  CHECK_FALSE(r.queues.at("unregistered-q").registered);
}

TEST_CASE("snapshot facts pass through to the report", "[policy]") {
  Snapshot s = MakeSnapshot(OldShape());
  s.application_filter_ignored = true;
  Report r = BuildReport(s, {});
  CHECK(r.application_filter_ignored);
  CHECK_FALSE(r.application);
  CHECK(r.as_of_ms == kNow);
  CHECK(r.shape.database == "olddb");

  Snapshot scoped = MakeSnapshot();
  scoped.application = "shop";
  Report rs = BuildReport(scoped, {});
  CHECK(rs.application == std::optional<std::string>("shop"));
  CHECK_FALSE(rs.application_filter_ignored);
}

TEST_CASE("ParseInFlightStatus accepts exactly the unfinished statuses", "[policy]") {
  CHECK(ParseInFlightStatus("PENDING") == S::kPending);
  CHECK(ParseInFlightStatus("ENQUEUED") == S::kEnqueued);
  CHECK(ParseInFlightStatus("DELAYED") == S::kDelayed);
  for (const char* done : {"SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED", "RETRIES_EXCEEDED",
                           "pending", ""}) {
    CHECK_FALSE(ParseInFlightStatus(done));
  }
}
