// The quiet period's starts and finishes (the retire statement's 'i' and 'f' rows,
// db/retire_query.h), read incrementally across refreshes. Pure: the bounds of the next read
// from the previous ones, and the rows of a read merged into what the window holds.
//
// Why: the retire verdict needs every workflow created within the quiet period, and no DBOS
// index holds application_version, so reading the whole window visits the heap once per row of
// it (and again for each dead version an update left): at 100 starts/s over 2 minutes, ~12k
// starts and ~12k finishes, 45-60 ms a read. A refresh 2 s after the previous one only needs
// the rows that can have changed since.
//
// Contract:
//  - Rows are kept per second of created_at (intake) and of completed_at (finishes). A read's
//    bounds (WindowBounds) are: [lo, edge_end), the part of the window's first second that is
//    inside it, always read afresh; [from, +inf), always read afresh; the whole seconds in
//    [edge_end, from) come from the ledger. from == edge_end is a full read.
//  - from = the previous read's as_of - kRereadMargin (floored to a second): a row whose commit
//    became visible after the previous read is read again as long as its timestamp (the app's
//    clock) is at most kRereadMargin older than that read. Lowered to the first kept second
//    that holds NULL-version intake: a dequeue rewrites such a row's version, so its second is
//    read afresh until it leaves the window.
//  - A full read when: no previous read (a new connection), `must_read_all` (a standby: rows
//    appear as replay catches up, by any amount), another window, the database clock went
//    backwards, kFullReadEvery since the last full read (what the margin and the NULL rule
//    cannot see: a row deleted or resumed, a commit later than the margin), or when from would
//    not be past edge_end.
//  - The merged intake and finishes are exactly what one full read would return, given the
//    rows a full read would see at each kept second when that second was last read.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "model.h"

namespace dbos_drain {

inline constexpr int64_t kRereadMargin = 10000;   // ms: commit latency and app clock skew
inline constexpr int64_t kFullReadEvery = 30000;  // ms of database clock between full reads

// One row of a read, with the second (epoch ms / 1000) of its timestamp.
struct SecondIntake {
  int64_t second = 0;
  IntakeGroup group;
};
struct SecondFinish {
  int64_t second = 0;
  FinishGroup group;
};

class WindowLedger {
 public:
  // The bounds of the read of a snapshot at `as_of_ms` (the database clock) over `window_ms`.
  WindowBounds Plan(int64_t as_of_ms, int64_t window_ms, bool must_read_all) const;

  // Merges the rows read with `bounds` (from Plan with the same as_of and window) into the
  // ledger, and sets snapshot.intake and snapshot.finished to what the whole window holds.
  void Merge(const WindowBounds& bounds, int64_t as_of_ms, int64_t window_ms, const std::vector<SecondIntake>& intake,
             const std::vector<SecondFinish>& finished, Snapshot& snapshot);

  // Forgets everything: the next read is full.
  void Reset();

 private:
  struct Second {
    std::vector<IntakeGroup> intake;
    std::vector<FinishGroup> finished;
  };
  std::map<int64_t, Second> seconds_;  // whole seconds >= the last read's edge_end
  bool has_previous_ = false;
  int64_t previous_as_of_ms_ = 0;
  int64_t previous_window_ms_ = 0;
  int64_t last_full_as_of_ms_ = 0;
};

}  // namespace dbos_drain
