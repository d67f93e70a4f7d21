#include "window_ledger.h"

#include <algorithm>
#include <tuple>

namespace dbos_drain {

namespace {

int64_t FloorSecond(int64_t ms) { return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000); }

using IntakeKey = std::tuple<std::optional<std::string>, std::string, IntakeKind>;

void AddIntake(std::map<IntakeKey, IntakeGroup>& into, const IntakeGroup& g) {
  auto [it, inserted] = into.try_emplace(IntakeKey{g.version, g.name, g.kind}, g);
  if (inserted) return;
  it->second.count += g.count;
  it->second.last_created_at_ms = std::max(it->second.last_created_at_ms, g.last_created_at_ms);
}

void AddFinish(std::map<std::optional<std::string>, FinishGroup>& into, const FinishGroup& g) {
  auto [it, inserted] = into.try_emplace(g.version, g);
  if (inserted) return;
  it->second.count += g.count;
  it->second.last_completed_at_ms = std::max(it->second.last_completed_at_ms, g.last_completed_at_ms);
}

bool HoldsUnversionedIntake(const std::vector<IntakeGroup>& intake) {
  return std::any_of(intake.begin(), intake.end(), [](const IntakeGroup& g) { return !g.version; });
}

}  // namespace

WindowBounds WindowLedger::Plan(int64_t as_of_ms, int64_t window_ms, bool must_read_all) const {
  WindowBounds b;
  b.lo_ms = as_of_ms - window_ms;
  b.edge_end_ms = (FloorSecond(b.lo_ms) + 1) * 1000;
  b.from_ms = b.edge_end_ms;
  if (!has_previous_ || must_read_all || window_ms != previous_window_ms_ || as_of_ms < previous_as_of_ms_ ||
      as_of_ms - last_full_as_of_ms_ >= kFullReadEvery) {
    return b;
  }
  int64_t from = FloorSecond(previous_as_of_ms_ - kRereadMargin) * 1000;
  for (const auto& [second, kept] : seconds_) {
    if (second * 1000 >= from) break;
    if (second * 1000 >= b.edge_end_ms && HoldsUnversionedIntake(kept.intake)) {
      from = second * 1000;
      break;
    }
  }
  b.from_ms = std::max(from, b.edge_end_ms);
  return b;
}

void WindowLedger::Merge(const WindowBounds& bounds, int64_t as_of_ms, int64_t window_ms,
                         const std::vector<SecondIntake>& intake, const std::vector<SecondFinish>& finished,
                         Snapshot& snapshot) {
  const int64_t edge_second = bounds.edge_end_ms / 1000;
  const int64_t from_second = bounds.from_ms / 1000;
  // Kept: the whole seconds between the two ranges read afresh. Everything else is replaced.
  std::map<int64_t, Second> next;
  for (auto& [second, kept] : seconds_) {
    if (second >= edge_second && second < from_second) next.emplace(second, std::move(kept));
  }
  std::map<IntakeKey, IntakeGroup> window_intake;
  std::map<std::optional<std::string>, FinishGroup> window_finished;
  for (const auto& [second, kept] : next) {
    for (const auto& g : kept.intake) AddIntake(window_intake, g);
    for (const auto& g : kept.finished) AddFinish(window_finished, g);
  }
  for (const auto& row : intake) {
    AddIntake(window_intake, row.group);
    if (row.second >= edge_second) next[row.second].intake.push_back(row.group);  // the edge second is partial
  }
  for (const auto& row : finished) {
    AddFinish(window_finished, row.group);
    if (row.second >= edge_second) next[row.second].finished.push_back(row.group);
  }
  seconds_ = std::move(next);
  has_previous_ = true;
  previous_as_of_ms_ = as_of_ms;
  previous_window_ms_ = window_ms;
  if (bounds.full()) last_full_as_of_ms_ = as_of_ms;

  snapshot.window_read = bounds;
  snapshot.intake.clear();
  for (auto& [key, g] : window_intake) snapshot.intake.push_back(std::move(g));
  snapshot.finished.clear();
  for (auto& [key, g] : window_finished) snapshot.finished.push_back(std::move(g));
}

void WindowLedger::Reset() { *this = WindowLedger(); }

}  // namespace dbos_drain
