#include "set_verdict_json.h"

#include "text_format.h"

namespace dbos_drain {

nlohmann::json SetVerdictToJson(const SetVerdict& verdict, const Report& report) {
  nlohmann::json blockers = nlohmann::json::array();
  for (const auto& b : verdict.blockers) {
    blockers.push_back({{"version", b.version}, {"code", b.code}, {"message", b.message}});
  }
  return {{"safe_to_retire", verdict.safe_to_retire},
          {"keep", verdict.keep},
          {"judged", verdict.judged},
          {"blockers", std::move(blockers)},
          {"latest_version", report.latest_version ? nlohmann::json(*report.latest_version) : nlohmann::json(nullptr)},
          {"as_of", FormatTimestamp(report.as_of_ms)}};
}

nlohmann::json HoldDecisionToJson(const HoldQuestion& q, const HoldDecision& d, bool bound_passed) {
  return {{"release", d.release},     {"version", q.version}, {"executor", q.executor},
          {"code", d.code},           {"message", d.message}, {"bound_passed", bound_passed}};
}

}  // namespace dbos_drain
