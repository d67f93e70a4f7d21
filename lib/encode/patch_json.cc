#include "patch_json.h"

#include "report_json.h"

namespace dbos_drain {

using nlohmann::json;

namespace {

json Refs(const std::vector<PatchWorkflowRef>& refs) {
  json out = json::array();
  for (const auto& r : refs) {
    out.push_back({{"workflow_id", r.id}, {"function", r.function}, {"status", r.status},
                   {"age_seconds", static_cast<double>(r.age_ms) / 1000.0}});
  }
  return out;
}

}  // namespace

json PatchToJson(const PatchReport& p, int64_t) {
  json positions = json::object();
  for (const auto& [f, ids] : p.positions) positions[f] = json(ids);
  json blockers = json::array();
  for (const auto& b : p.blockers) blockers.push_back({{"code", b.code}, {"message", b.message}});
  return json{
      {"name", p.name},
      {"known", p.known},
      {"workflow_functions", json(p.functions)},
      {"marker_positions", positions},
      {"first_recorded_at", p.first_recorded_ms ? json(FormatTimestamp(*p.first_recorded_ms)) : json(nullptr)},
      {"first_recorded_exact", p.first_recorded_exact},
      {"in_flight_with_marker", p.in_flight_with_marker},
      {"blocking_deprecation", p.blocking_deprecation},
      {"safe_to_deprecate", p.safe_to_deprecate},
      {"safe_to_remove", p.safe_to_remove},
      {"with_marker", Refs(p.with_marker)},
      {"blocking", Refs(p.blocking)},
      {"blockers", blockers},
  };
}

json PatchesToJson(const PatchesReport& report, const std::vector<PatchReport>* patches) {
  json list = json::array();
  for (const auto& p : patches ? *patches : report.patches) list.push_back(PatchToJson(p, report.as_of_ms));
  return json{
      {"as_of", FormatTimestamp(report.as_of_ms)},
      {"history_complete", report.history_complete},
      {"overlap_seconds", static_cast<double>(report.overlap.count()) / 1000.0},
      {"patches", list},
  };
}

}  // namespace dbos_drain
