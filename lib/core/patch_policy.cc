#include "patch_policy.h"

#include <algorithm>
#include <unordered_map>

#include "duration.h"

namespace dbos_drain {
namespace {

struct WorkingPatch {
  std::optional<int64_t> first_recorded_ms;
  std::map<std::string, std::set<int>> positions;
  std::set<std::string> holders;  // workflow ids holding the marker
};

std::string ListRefs(const std::vector<PatchWorkflowRef>& refs, int64_t total) {
  std::string out;
  for (const auto& r : refs) {
    if (!out.empty()) out += ", ";
    out += r.id + " (" + r.function + ", " + r.status + ", " + FormatAge(r.age_ms) + " old)";
  }
  const int64_t rest = total - static_cast<int64_t>(refs.size());
  if (rest > 0) out += " and " + std::to_string(rest) + " more";
  return out;
}

std::string Plural(int64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::optional<std::string> PatchNameOfMarker(const std::string& function_name) {
  const std::string prefix = kPatchMarkerPrefix;
  if (function_name.size() <= prefix.size() || function_name.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  return function_name.substr(prefix.size());
}

PatchesReport BuildPatchesReport(const PatchSnapshot& snapshot, const PatchOptions& options) {
  std::unordered_map<std::string, const PatchWorkflowRow*> by_id;
  for (const auto& w : snapshot.workflows) by_id[w.id] = &w;
  // workflow id -> (function id -> function_name) for the rows read.
  std::unordered_map<std::string, std::map<int, std::string>> rows_of;
  for (const auto& s : snapshot.steps) {
    if (by_id.count(s.workflow_id)) rows_of[s.workflow_id][s.function_id] = s.function_name;
  }

  std::map<std::string, WorkingPatch> patches;
  for (const auto& [name, h] : snapshot.history) {
    auto& p = patches[name];
    p.first_recorded_ms = h.first_recorded_ms;
    for (const auto& [f, ids] : h.positions) p.positions[f].insert(ids.begin(), ids.end());
  }
  for (const auto& s : snapshot.steps) {
    auto name = PatchNameOfMarker(s.function_name);
    auto w = by_id.find(s.workflow_id);
    if (!name || w == by_id.end()) continue;
    auto& p = patches[*name];
    p.holders.insert(s.workflow_id);
    p.positions[w->second->function].insert(s.function_id);
    if (s.started_at_ms && (!p.first_recorded_ms || *s.started_at_ms < *p.first_recorded_ms)) {
      p.first_recorded_ms = s.started_at_ms;
    }
  }

  PatchesReport report;
  report.as_of_ms = snapshot.as_of_ms;
  report.history_complete = snapshot.history_complete;
  report.overlap = options.overlap;
  auto ref = [&](const PatchWorkflowRow& w) {
    return PatchWorkflowRef{w.id, w.function, w.status, std::max<int64_t>(0, snapshot.as_of_ms - w.created_at_ms)};
  };
  auto oldest_first = [](const PatchWorkflowRow* a, const PatchWorkflowRow* b) {
    return a->created_at_ms != b->created_at_ms ? a->created_at_ms < b->created_at_ms : a->id < b->id;
  };

  for (const auto& [name, p] : patches) {
    PatchReport r;
    r.name = name;
    r.known = true;
    r.positions = p.positions;
    for (const auto& [f, ids] : p.positions) r.functions.insert(f);
    r.first_recorded_ms = p.first_recorded_ms;
    r.first_recorded_exact = snapshot.history_complete && snapshot.history.count(name) > 0 &&
                             snapshot.history.at(name).first_recorded_ms.has_value() && !snapshot.undated.count(name);
    const std::string marker = kPatchMarkerPrefix + name;

    std::vector<const PatchWorkflowRow*> holders, blocking;
    for (const auto& w : snapshot.workflows) {
      if (p.holders.count(w.id)) {
        holders.push_back(&w);
        continue;
      }
      auto pos = p.positions.find(w.function);
      if (pos == p.positions.end()) continue;  // another workflow function
      bool may_take_old = !p.first_recorded_ms ||
                          w.created_at_ms < *p.first_recorded_ms + static_cast<int64_t>(options.overlap.count());
      if (!may_take_old) {
        auto rows = rows_of.find(w.id);
        if (rows != rows_of.end()) {
          for (int id : pos->second) {
            auto row = rows->second.find(id);
            if (row != rows->second.end() && !PatchNameOfMarker(row->second)) {
              may_take_old = true;  // recorded something else where the marker goes: the old branch
              break;
            }
          }
        }
      }
      if (may_take_old) blocking.push_back(&w);
    }
    std::sort(holders.begin(), holders.end(), oldest_first);
    std::sort(blocking.begin(), blocking.end(), oldest_first);
    r.in_flight_with_marker = static_cast<int64_t>(holders.size());
    r.blocking_deprecation = static_cast<int64_t>(blocking.size());
    for (size_t i = 0; i < holders.size() && i < options.max_listed; ++i) r.with_marker.push_back(ref(*holders[i]));
    for (size_t i = 0; i < blocking.size() && i < options.max_listed; ++i) r.blocking.push_back(ref(*blocking[i]));
    r.safe_to_deprecate = r.blocking_deprecation == 0;
    r.safe_to_remove = r.in_flight_with_marker == 0;
    if (!r.safe_to_deprecate) {
      r.blockers.push_back(
          {"blocking_deprecation",
           Plural(r.blocking_deprecation, "in-flight workflow holds", "in-flight workflows hold") + " no '" + marker +
               "' marker and may take, or took, the old branch (started before the patch was first recorded + " +
               FormatDuration(options.overlap) + ", or recorded another step at its position): " +
               ListRefs(r.blocking, r.blocking_deprecation) + "; deprecating now fails them with DBOSUnexpectedStepError"});
    }
    if (!r.safe_to_remove) {
      r.blockers.push_back(
          {"in_flight_with_marker",
           Plural(r.in_flight_with_marker, "in-flight workflow holds", "in-flight workflows hold") + " the '" + marker +
               "' marker: " + ListRefs(r.with_marker, r.in_flight_with_marker) +
               "; removing the patch call now fails them with DBOSUnexpectedStepError"});
    }
    report.patches.push_back(std::move(r));
  }
  return report;
}

PatchReport FindPatch(const PatchesReport& report, const std::string& name) {
  for (const auto& p : report.patches) {
    if (p.name == name) return p;
  }
  PatchReport r;
  r.name = name;
  r.blockers.push_back({"unknown_patch", "no in-flight workflow and no recorded marker shows patch '" + name + "' (" +
                                             kPatchMarkerPrefix + name +
                                             "): check the name; an unknown patch is never reported safe"});
  return r;
}

}  // namespace dbos_drain
