// When a read checks for SUSPENDED and unknown statuses (lib/core/status_ledger.h), what a read
// that does not check carries, and how the policy judges those rows (drain_policy.h,
// retire_policy.h). No I/O: snapshots are built by hand.
#include <catch2/catch.hpp>

#include "drain_policy.h"
#include "retire_policy.h"
#include "status_ledger.h"

using namespace dbos_drain;
using std::chrono::milliseconds;

namespace {

InFlightGroup Group(std::optional<std::string> version, InFlightStatus status, int64_t count = 1) {
  InFlightGroup g;
  g.version = std::move(version);
  g.status = status;
  g.count = count;
  g.oldest_created_at_ms = 1000;
  return g;
}

Snapshot At(int64_t as_of_ms, std::vector<InFlightGroup> groups = {}) {
  Snapshot s;
  s.as_of_ms = as_of_ms;
  s.groups = std::move(groups);
  s.window_ms = 120'000;
  s.finishes_known = true;
  return s;
}

const milliseconds kInterval{60'000};

}  // namespace

TEST_CASE("status ledger: the first read, interval 0 and an elapsed interval check", "[status_ledger]") {
  StatusLedger ledger;
  Snapshot first = At(1'000'000);
  CHECK(ledger.ScanDue(first, kInterval));
  ledger.Record(first, true);
  CHECK(first.statuses_checked_at_ms == 1'000'000);
  CHECK(first.statuses_checked_now);

  CHECK_FALSE(ledger.ScanDue(At(1'030'000), kInterval));
  CHECK(ledger.ScanDue(At(1'030'000), milliseconds(0)));  // status, wait: every read
  CHECK(ledger.ScanDue(At(1'060'000), kInterval));
  CHECK(ledger.ScanDue(At(999'000), kInterval));  // the clock went back: another server
}

TEST_CASE("status ledger: a version whose in-flight rows left checks in the same read", "[status_ledger]") {
  StatusLedger ledger;
  Snapshot a = At(1'000'000);
  ledger.Record(a, true);
  Snapshot b = At(1'002'000, {Group("v1", InFlightStatus::kPending), Group(std::nullopt, InFlightStatus::kEnqueued)});
  CHECK_FALSE(ledger.ScanDue(b, kInterval));
  ledger.Record(b, false);
  // v1 still in flight, the NULL-version row too: nothing to check.
  CHECK_FALSE(ledger.ScanDue(At(1'004'000, {Group("v1", InFlightStatus::kEnqueued), Group(std::nullopt, InFlightStatus::kEnqueued)}),
                             kInterval));
  // v1's last row left PENDING/ENQUEUED/DELAYED (finished, or SUSPENDED, or unknown): check.
  CHECK(ledger.ScanDue(At(1'004'000, {Group(std::nullopt, InFlightStatus::kEnqueued)}), kInterval));
  // The NULL-version row was dequeued (it is v1's now): check too.
  CHECK(ledger.ScanDue(At(1'004'000, {Group("v1", InFlightStatus::kPending)}), kInterval));

  // After that check, v1 gone is no longer news.
  Snapshot c = At(1'004'000, {Group("v1", InFlightStatus::kSuspended)});
  ledger.Record(c, true);
  CHECK_FALSE(ledger.ScanDue(At(1'006'000), kInterval));
}

TEST_CASE("status ledger: a read that does not check carries the last check's rows", "[status_ledger]") {
  StatusLedger ledger;
  Snapshot checked = At(1'000'000, {Group("v1", InFlightStatus::kSuspended, 2)});
  checked.unknown_statuses.push_back({std::string("v0"), "HIBERNATING", 3, 500});
  ledger.Record(checked, true);

  Snapshot later = At(1'010'000, {Group("v2", InFlightStatus::kPending)});
  ledger.Record(later, false);
  CHECK_FALSE(later.statuses_checked_now);
  CHECK(later.statuses_checked_at_ms == 1'000'000);
  REQUIRE(later.groups.size() == 2);
  CHECK(later.groups[1].status == InFlightStatus::kSuspended);
  CHECK(later.groups[1].count == 2);
  REQUIRE(later.unknown_statuses.size() == 1);
  CHECK(later.unknown_statuses[0].status == "HIBERNATING");

  Report r = BuildReport(later, {});
  CHECK(r.Find("v1")->in_flight.suspended == 2);
  CHECK_FALSE(r.Find("v1")->safe_to_retire);
  CHECK(r.Find("v0")->unknown_statuses.at("HIBERNATING") == 3);

  SECTION("a due check that failed: carried rows, and no version is safe") {
    Snapshot failed = At(1'070'000);
    ledger.RecordFailedCheck(failed);
    CHECK(failed.statuses_unchecked);
    RegisteredVersion v3{"v3", 1, 1};
    RegisteredVersion v4{"v4", 2, 2};
    failed.registered = {v3, v4};
    Report fr = BuildReport(failed, {});
    const VersionReport* e = fr.Find("v3");
    REQUIRE(e);
    CHECK_FALSE(e->safe_to_retire);
    CHECK(e->blockers.back().code == "statuses_unchecked");
    CHECK(e->phase == Phase::kUnknown);
  }
  SECTION("Reset forgets: the next read checks and carries nothing") {
    ledger.Reset();
    Snapshot fresh = At(1'011'000);
    CHECK(ledger.ScanDue(fresh, kInterval));
    ledger.Record(fresh, false);
    CHECK(fresh.groups.empty());
    CHECK_FALSE(fresh.statuses_checked_at_ms);
  }
}

TEST_CASE("policy: SUSPENDED is in flight, unknown statuses block, NULL-version unknown blocks every version",
          "[policy][statuses]") {
  Snapshot s = At(10'000'000, {Group("v1", InFlightStatus::kSuspended, 2)});
  s.registered = {{"v0", 1, 1}, {"v1", 2, 2}, {"v2", 3, 3}};
  Report r = BuildReport(s, {});
  const VersionReport& v1 = *r.Find("v1");
  CHECK(v1.in_flight.suspended == 2);
  CHECK(v1.in_flight.total() == 2);
  CHECK_FALSE(v1.drained);
  CHECK(v1.phase == Phase::kDraining);
  CHECK(v1.retire_hold == 2);
  CHECK_FALSE(v1.eta_seconds);
  CHECK(SummaryLine(v1, s.as_of_ms).find("2 suspended") != std::string::npos);
  CHECK(r.Find("v0")->safe_to_retire);

  s.unknown_statuses.push_back({std::nullopt, "PAUSED", 4, 500});
  Report blocked = BuildReport(s, {});
  for (const char* name : {"v0", "v1"}) {
    const VersionReport& v = *blocked.Find(name);
    INFO(name);
    CHECK_FALSE(v.safe_to_retire);
    CHECK_FALSE(v.drained);
    CHECK(v.unknown_statuses.at("PAUSED") == 4);
    bool found = false;
    for (const auto& b : v.blockers) found = found || b.code == "unknown_status";
    CHECK(found);
  }
  // A version named by a caller and not in the report gets them too.
  CHECK(FindVersion(blocked, "v9", {}).unknown_statuses.at("PAUSED") == 4);
  CHECK(RetireLine(*blocked.Find("v0"), s.as_of_ms, 120'000).find("unknown_status (4 PAUSED)") != std::string::npos);
}

TEST_CASE("IsFinishedStatus knows exactly the finished statuses", "[policy][statuses]") {
  for (const char* done : {"SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED", "RETRIES_EXCEEDED"}) {
    CHECK(IsFinishedStatus(done));
  }
  for (const char* other : {"PENDING", "ENQUEUED", "DELAYED", "SUSPENDED", "UNKNOWN", "success", ""}) {
    CHECK_FALSE(IsFinishedStatus(other));
  }
  CHECK(ParseInFlightStatus("SUSPENDED") == InFlightStatus::kSuspended);
}

TEST_CASE("status ledger: a departure of a version with a recent start waits until its starts leave the window",
          "[status_ledger]") {
  StatusLedger ledger;
  Snapshot a = At(1'000'000);
  ledger.Record(a, true);
  Snapshot b = At(1'002'000, {Group("v2", InFlightStatus::kPending)});
  ledger.Record(b, false);
  IntakeGroup started;
  started.version = "v2";
  started.count = 5;
  started.last_created_at_ms = 1'001'000;
  Snapshot busy = At(1'004'000);
  busy.intake = {started};
  CHECK_FALSE(ledger.ScanDue(busy, kInterval));  // recent_intake blocks v2 anyway
  ledger.Record(busy, false);
  CHECK(ledger.ScanDue(At(1'006'000), kInterval));  // its starts left the window: check now
}
