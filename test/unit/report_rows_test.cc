// What each row of the report query means (lib/db/report_rows.h) and which asked versions need
// a history lookup. test/db/ reads the same rows from real fixtures.
#include <catch2/catch.hpp>

#include "report_rows.h"

using namespace dbos_drain;

namespace {

ReportRow Row(std::string kind) {
  ReportRow r;
  r.kind = std::move(kind);
  return r;
}

ReportRow GroupRow(std::optional<std::string> version, std::optional<std::string> queue, std::string status,
                   int64_t n, int64_t oldest) {
  ReportRow r = Row("g");
  r.version = std::move(version);
  r.queue = std::move(queue);
  r.executor = std::string("worker-1");
  r.status = std::move(status);
  r.n = n;
  r.a = oldest;
  return r;
}

}  // namespace

TEST_CASE("report rows: each kind fills its part of the snapshot", "[report-rows]") {
  Snapshot snap;
  AddReportRow(GroupRow("v1", "tasks", "ENQUEUED", 3, 1000), snap);
  AddReportRow(GroupRow(std::nullopt, std::nullopt, "PENDING", 2, 900), snap);
  AddReportRow(GroupRow("v1", std::nullopt, "DELAYED", 1, 800), snap);
  ReportRow v = Row("v");
  v.version = std::string("v1");
  v.a = 111;
  v.b = 222;
  AddReportRow(v, snap);
  ReportRow v_nulls = Row("v");
  v_nulls.version = std::string("v0");
  AddReportRow(v_nulls, snap);
  ReportRow q = Row("q");
  q.queue = std::string("tasks");
  q.a = 10;
  AddReportRow(q, snap);
  ReportRow q2 = Row("q");
  q2.queue = std::string("w");
  q2.b = 2;
  AddReportRow(q2, snap);
  ReportRow now = Row("n");
  now.a = 123456;
  AddReportRow(now, snap);

  REQUIRE(snap.groups.size() == 3);
  CHECK(snap.groups[0].version == std::optional<std::string>("v1"));
  CHECK(snap.groups[0].queue == std::optional<std::string>("tasks"));
  CHECK(snap.groups[0].executor == "worker-1");
  CHECK(snap.groups[0].status == InFlightStatus::kEnqueued);
  CHECK(snap.groups[0].count == 3);
  CHECK(snap.groups[0].oldest_created_at_ms == 1000);
  CHECK_FALSE(snap.groups[1].version);
  CHECK_FALSE(snap.groups[1].queue);
  CHECK(snap.groups[1].status == InFlightStatus::kPending);
  CHECK(snap.groups[2].status == InFlightStatus::kDelayed);
  REQUIRE(snap.registered.size() == 2);
  CHECK(snap.registered[0].name == "v1");
  CHECK(snap.registered[0].version_timestamp_ms == 111);
  CHECK(snap.registered[0].created_at_ms == 222);
  CHECK(snap.registered[1].version_timestamp_ms == 0);  // NULL reads as 0
  CHECK(snap.registered[1].created_at_ms == 0);
  REQUIRE(snap.queues.size() == 2);
  CHECK(snap.queues[0].name == "tasks");
  CHECK(snap.queues[0].concurrency == std::optional<int64_t>(10));
  CHECK_FALSE(snap.queues[0].worker_concurrency);
  CHECK_FALSE(snap.queues[1].concurrency);
  CHECK(snap.queues[1].worker_concurrency == std::optional<int64_t>(2));
  CHECK(snap.as_of_ms == 123456);
}

TEST_CASE("report rows: finished statuses and unknown kinds are skipped", "[report-rows]") {
  Snapshot snap;
  AddReportRow(GroupRow("v1", std::nullopt, "SUCCESS", 5, 1), snap);
  AddReportRow(GroupRow("v1", std::nullopt, "pending", 5, 1), snap);  // statuses are exact
  ReportRow x = Row("x");
  x.a = 1;
  AddReportRow(x, snap);
  CHECK(snap.groups.empty());
  CHECK(snap.registered.empty());
  CHECK(snap.queues.empty());
  CHECK(snap.as_of_ms == 0);
}

TEST_CASE("report rows: a NULL where a value is required is an error, not a zero", "[report-rows]") {
  Snapshot snap;
  ReportRow g = GroupRow("v1", std::nullopt, "PENDING", 1, 1);
  g.n.reset();
  CHECK_THROWS_WITH(AddReportRow(g, snap), "report row of kind 'g' has NULL n");
  ReportRow now = Row("n");
  CHECK_THROWS_WITH(AddReportRow(now, snap), "report row of kind 'n' has NULL a");
  ReportRow v = Row("v");
  CHECK_THROWS(AddReportRow(v, snap));
  CHECK(snap.groups.empty());
}

TEST_CASE("report rows: only versions the report does not show are probed, in the asked order", "[report-rows]") {
  Snapshot snap;
  snap.registered.push_back({"v1", 1, 1});
  AddReportRow(GroupRow("v2", std::nullopt, "PENDING", 1, 1), snap);
  AddReportRow(GroupRow(std::nullopt, std::nullopt, "ENQUEUED", 1, 1), snap);
  CHECK(VersionsToProbe(snap, {}).empty());
  CHECK(VersionsToProbe(snap, {"v1", "v2"}).empty());
  CHECK(VersionsToProbe(snap, {"v9", "v1", "v3", "v2"}) == std::vector<std::string>{"v9", "v3"});
  CHECK(VersionsToProbe(snap, {""}) == std::vector<std::string>{""});  // NULL-version rows prove no name
}

TEST_CASE("report rows: a NULL executor is the empty executor (the query groups by the plain column)", "[report-rows]") {
  Snapshot snap;
  ReportRow g = GroupRow("v1", std::nullopt, "PENDING", 2, 900);
  g.executor = std::nullopt;
  AddReportRow(g, snap);
  REQUIRE(snap.groups.size() == 1);
  CHECK(snap.groups[0].executor.empty());
  CHECK(snap.groups[0].count == 2);
}
