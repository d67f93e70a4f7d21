#include "promotion_gate.h"

#include "duration.h"
#include "retire_policy.h"

namespace dbos_drain {

GateVerdict DecideGate(const GateSelection& selection, const Report& report, const PolicyOptions& policy) {
  Judgement j = JudgeVersions(report, selection.versions, policy);
  GateVerdict verdict;
  verdict.safe_to_retire = j.all_safe;
  verdict.drained = j.all_drained;
  std::vector<std::string> blocking;
  size_t blocked = 0;
  for (const auto& v : j.versions) {
    if (!v.safe_to_retire && ++blocked <= kMaxSummaryVersions) {
      blocking.push_back(RetireLine(v, report.as_of_ms, report.quiet_period_ms));
    }
  }
  std::string summary;
  if (!verdict.safe_to_retire) {
    for (const auto& line : blocking) summary += (summary.empty() ? "" : "; ") + line;
    if (blocked > blocking.size()) {
      summary += "; and " + std::to_string(blocked - blocking.size()) + " more versions not safe to retire";
    }
  } else if (j.versions.empty() && selection.hidden > 0) {
    summary = "nothing to retire: " + (selection.latest ? *selection.latest : std::string("?")) +
              " is the latest version and the " + std::to_string(selection.hidden) +
              (selection.hidden == 1 ? " other version is" : " other versions are") +
              " long drained (safe to retire, not listed)";
  } else if (j.versions.empty()) {
    summary = "nothing to retire: " + (selection.latest ? *selection.latest : std::string("?")) +
              " is the latest version and no other version is known";
  } else if (j.versions.size() == 1) {
    summary = RetireLine(j.versions.front(), report.as_of_ms, report.quiet_period_ms);
  } else {
    std::string names;
    for (const auto& v : j.versions) names += (names.empty() ? "" : ", ") + v.version;
    summary = names + " safe to retire: nothing in flight, no start in the last " +
              FormatDuration(std::chrono::milliseconds(report.quiet_period_ms));
  }
  if (verdict.safe_to_retire && !j.versions.empty() && selection.hidden > 0) {
    summary += "; and " + std::to_string(selection.hidden) +
               (selection.hidden == 1 ? " long-drained version" : " long-drained versions") + " (safe to retire, not listed)";
  }
  verdict.versions = std::move(j.versions);
  verdict.summary = std::move(summary);
  return verdict;
}

}  // namespace dbos_drain
