// When a read checks workflow_status for SUSPENDED rows and statuses dbos-drain does not know,
// and what a read that does not check carries from the last check. Pure: the previous checks and
// the in-flight groups of this read in, a decision and the carried rows out.
//
// Why: SUSPENDED has no partial index and no DBOS index leads with status, so the check
// (report_query.h: BuildStatusCheckQuery) is a scan of workflow_status: ~0.1 s at 1M rows, ~1-2 s
// at 10M (bench/RESULTS.md). The in-flight read (partial indexes) costs milliseconds. A row
// reaches SUSPENDED or an unknown status from an in-flight status, so the check is needed exactly
// when an in-flight row may have left the partial indexes without finishing.
//
// Contract:
//  - A read checks (ScanDue) when: there was no check on this connection yet, `interval` is 0
//    (status, wait: every read), `interval` has passed since the last check (database clock), or
//    a version (or the NULL version) that had PENDING/ENQUEUED/DELAYED rows in some read since
//    the last check has none in this read and no start within the quiet period in it ("a
//    departure"; with a recent start it is blocked by recent_intake anyway, and the departure
//    waits until its starts leave the window: so a busy version with short workflows does not
//    make every read check). The check runs in the same snapshot as the in-flight read, so a
//    version whose last in-flight row went SUSPENDED is never judged safe from a check older than
//    that row's departure: no window for rows that were seen in flight.
//  - A row that was never seen in flight by a read and has a created_at within the quiet period
//    blocks its version through recent_intake until a check has run (interval <= quiet period).
//    What remains is a row with an old created_at that enters SUSPENDED or an unknown status
//    between two reads without being seen in flight (an imported suspended workflow; a rewound
//    one that suspends within one refresh): it is seen by the next periodic check, within
//    `interval` plus one refresh.
//  - A read that does not check carries the last check's SUSPENDED groups (into groups) and
//    unknown-status groups, and its time (statuses_checked_at_ms). Carried rows may have finished
//    since: they block until the next check (fail closed).
//  - Reset() (a new connection: perhaps another server) forgets everything: the next read checks.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model.h"

namespace dbos_drain {

class StatusLedger {
 public:
  // Whether this read must check, given its in-flight groups (the in-flight read's, before any
  // check), its intake (the quiet period's starts) and its as_of_ms.
  bool ScanDue(const Snapshot& snapshot, std::chrono::milliseconds interval) const;

  // After a successful read: `checked` says whether it ran the check (its SUSPENDED groups are
  // in snapshot.groups, its unknown ones in snapshot.unknown_statuses). A read that did not check
  // gets the last check's rows and time; one that did becomes the last check.
  void Record(Snapshot& snapshot, bool checked);

  // After a read whose due check failed (timed out): the last check's rows are carried, and
  // statuses_unchecked is set, so no version is safe from this read.
  void RecordFailedCheck(Snapshot& snapshot);

  void Reset();

 private:
  std::optional<int64_t> last_check_ms_;
  std::vector<InFlightGroup> suspended_;
  std::vector<UnknownStatusGroup> unknown_;
  // Versions with PENDING/ENQUEUED/DELAYED rows in some read since the last check.
  std::set<std::optional<std::string>> seen_in_flight_;
};

}  // namespace dbos_drain
