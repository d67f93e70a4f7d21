#include "status_ledger.h"

namespace dbos_drain {
namespace {

std::set<std::optional<std::string>> InFlightVersions(const Snapshot& s) {
  std::set<std::optional<std::string>> out;
  for (const auto& g : s.groups) {
    if (g.status != InFlightStatus::kSuspended && g.count > 0) out.insert(g.version);
  }
  return out;
}

}  // namespace

bool StatusLedger::ScanDue(const Snapshot& snapshot, std::chrono::milliseconds interval) const {
  if (!last_check_ms_ || interval.count() <= 0) return true;
  // The database clock went backwards (another server): check.
  if (snapshot.as_of_ms < *last_check_ms_ || snapshot.as_of_ms - *last_check_ms_ >= interval.count()) return true;
  const auto now = InFlightVersions(snapshot);
  // A version with a start within the quiet period is not safe whatever the check would find
  // (recent_intake): its departure waits, kept in seen_in_flight_, until its starts leave the window.
  std::set<std::optional<std::string>> starting;
  for (const auto& g : snapshot.intake) {
    if (g.count > 0) starting.insert(g.version);
  }
  for (const auto& v : seen_in_flight_) {
    if (!now.count(v) && !starting.count(v)) return true;  // a departure: its rows may have gone SUSPENDED or unknown
  }
  return false;
}

void StatusLedger::Record(Snapshot& snapshot, bool checked) {
  if (checked) {
    last_check_ms_ = snapshot.as_of_ms;
    suspended_.clear();
    for (const auto& g : snapshot.groups) {
      if (g.status == InFlightStatus::kSuspended) suspended_.push_back(g);
    }
    unknown_ = snapshot.unknown_statuses;
    seen_in_flight_ = InFlightVersions(snapshot);
    snapshot.statuses_checked_at_ms = last_check_ms_;
    snapshot.statuses_checked_now = true;
    return;
  }
  for (const auto& v : InFlightVersions(snapshot)) seen_in_flight_.insert(v);
  snapshot.statuses_checked_now = false;
  snapshot.statuses_checked_at_ms = last_check_ms_;
  if (!last_check_ms_) return;
  snapshot.groups.insert(snapshot.groups.end(), suspended_.begin(), suspended_.end());
  snapshot.unknown_statuses.insert(snapshot.unknown_statuses.end(), unknown_.begin(), unknown_.end());
}

void StatusLedger::RecordFailedCheck(Snapshot& snapshot) {
  Record(snapshot, false);
  snapshot.statuses_unchecked = true;
}

void StatusLedger::Reset() { *this = StatusLedger(); }

}  // namespace dbos_drain
