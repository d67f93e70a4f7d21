// Issue 16: what a queue asks of the workers that can take its rows (KEDA's queue trigger), as a
// pure function of the report: whole queue, one version, the latest version, unknown queues.
#include <catch2/catch.hpp>

#include "drain_policy.h"
#include "policy_fixtures.h"
#include "queue_demand.h"

using namespace dbos_drain;
using namespace dbos_drain::unit;

namespace {

// The case: 4 ENQUEUED rows of v1 (only v1 workers dequeue them), v2 is the latest and
// has nothing of its own in the queue, worker concurrency 2.
Report OldRowsOnly(SchemaShape shape = NewestShape()) {
  Snapshot s = MakeSnapshot(std::move(shape));
  if (s.shape.has_application_versions) {
    Register(s, "v1", kNow - 7'200'000);
    Register(s, "v2", kNow - 600'000);
  }
  if (s.shape.has_queues) s.queues.push_back({"tasks", 10, 2});
  s.groups.push_back(Group("v1", InFlightStatus::kEnqueued, 4, "tasks"));
  return BuildReport(s, {});
}

}  // namespace

TEST_CASE("queue demand: the whole queue counts every version's rows", "[unit][queue]") {
  QueueDemand d = ComputeQueueDemand(OldRowsOnly(), "tasks", std::nullopt, {});
  CHECK(d.outcome == QueueDemandOutcome::kOk);
  CHECK(d.selection == QueueSelection::kAll);
  CHECK_FALSE(d.version);
  CHECK(d.known);
  CHECK(d.utilization == 4);
  CHECK(d.desired_workers == 2);
}

TEST_CASE("queue demand: version=latest counts only what the latest version's workers can take", "[unit][queue]") {
  QueueDemand d = ComputeQueueDemand(OldRowsOnly(), "tasks", std::string("latest"), {});
  CHECK(d.outcome == QueueDemandOutcome::kOk);
  CHECK(d.selection == QueueSelection::kLatest);
  CHECK(d.version == std::string("v2"));
  CHECK(d.utilization == 0);
  CHECK(d.desired_workers == 0);  // not 2: v2 workers cannot dequeue v1's rows

  // The same rows seen by v1's own workers.
  QueueDemand v1 = ComputeQueueDemand(OldRowsOnly(), "tasks", std::string("v1"), {});
  CHECK(v1.selection == QueueSelection::kVersion);
  CHECK(v1.utilization == 4);
  CHECK(v1.desired_workers == 2);
}

TEST_CASE("queue demand: the latest version takes the NULL-version rows, and latest follows application_versions",
          "[unit][queue]") {
  Snapshot s = MakeSnapshot();
  Register(s, "v1", kNow - 7'200'000);
  Register(s, "v2", kNow - 600'000);
  s.queues.push_back({"tasks", std::nullopt, 3});
  s.groups.push_back(Group("v1", InFlightStatus::kEnqueued, 4, "tasks"));
  s.groups.push_back(Group("v2", InFlightStatus::kPending, 2, "tasks"));
  s.groups.push_back(Group(std::nullopt, InFlightStatus::kEnqueued, 5, "tasks", ""));
  s.groups.push_back(Group("v2", InFlightStatus::kDelayed, 9, "tasks"));
  QueueDemand d = ComputeQueueDemand(BuildReport(s, {}), "tasks", std::string("latest"), {});
  CHECK(d.version == std::string("v2"));
  CHECK(d.counts.pending == 2);
  CHECK(d.counts.enqueued == 5);
  CHECK(d.counts.delayed == 9);
  CHECK(d.utilization == 7);  // DELAYED rows are not work yet
  CHECK(d.desired_workers == 3);

  // A new version registers: "latest" moves with it, without touching the ScaledObject.
  Register(s, "v3", kNow - 1'000);
  QueueDemand after = ComputeQueueDemand(BuildReport(s, {}), "tasks", std::string("latest"), {});
  CHECK(after.version == std::string("v3"));
  CHECK(after.utilization == 5);
  CHECK(after.desired_workers == 2);
}

TEST_CASE("queue demand: version=latest without a latest version is an error, never a guess", "[unit][queue]") {
  QueueDemand old = ComputeQueueDemand(OldRowsOnly(OldShape()), "tasks", std::string("latest"), {});
  CHECK(old.outcome == QueueDemandOutcome::kNoLatestVersion);
  CHECK_THAT(old.message, Catch::Contains("application_versions"));

  Snapshot s = MakeSnapshot();  // the table exists, nothing registered yet
  s.queues.push_back({"tasks", 1, 1});
  QueueDemand empty = ComputeQueueDemand(BuildReport(s, {}), "tasks", std::string("latest"), {});
  CHECK(empty.outcome == QueueDemandOutcome::kNoLatestVersion);
  CHECK_THAT(empty.message, Catch::Contains("no version is registered"));
}

TEST_CASE("queue demand: an unknown queue is an error where the queues table can tell", "[unit][queue]") {
  QueueDemand d = ComputeQueueDemand(OldRowsOnly(), "taks", std::nullopt, {});
  CHECK(d.outcome == QueueDemandOutcome::kUnknownQueue);
  CHECK_THAT(d.message, Catch::Contains("\"taks\"") && Catch::Contains("dbos.queues"));
  CHECK(ComputeQueueDemand(OldRowsOnly(), "taks", std::string("v1"), {}).outcome == QueueDemandOutcome::kUnknownQueue);
  CHECK(ComputeQueueDemand(OldRowsOnly(), "taks", std::string("latest"), {}).outcome ==
        QueueDemandOutcome::kUnknownQueue);

  // A registered queue with nothing in flight is known: zeros.
  QueueDemand idle = ComputeQueueDemand(BuildReport([] {
                                          Snapshot s = MakeSnapshot();
                                          s.queues.push_back({"idle", std::nullopt, 4});
                                          return s;
                                        }(),
                                                    {}),
                                        "idle", std::nullopt, {});
  CHECK(idle.outcome == QueueDemandOutcome::kOk);
  CHECK(idle.known);
  CHECK(idle.desired_workers == 0);
}

TEST_CASE("queue demand: without a queues table a name cannot be checked: zeros, unknown, no worker count",
          "[unit][queue]") {
  Report old = OldRowsOnly(OldShape());
  QueueDemand busy = ComputeQueueDemand(old, "tasks", std::nullopt, {});
  CHECK(busy.outcome == QueueDemandOutcome::kOk);
  CHECK(busy.known);
  CHECK(busy.utilization == 4);
  CHECK_FALSE(busy.desired_workers);  // no worker concurrency to divide by

  QueueDemand idle = ComputeQueueDemand(old, "other", std::nullopt, {});
  CHECK(idle.outcome == QueueDemandOutcome::kOk);
  CHECK_FALSE(idle.known);
  CHECK(idle.utilization == 0);
  CHECK_FALSE(idle.desired_workers);
}
