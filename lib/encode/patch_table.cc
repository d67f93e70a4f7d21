#include "patch_table.h"

#include <algorithm>
#include <sstream>

#include "duration.h"
#include "report_json.h"

namespace dbos_drain {
namespace {

std::string Cell(const std::string& s) {
  std::string out = s;
  for (auto& c : out) if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

const char* Verdict(const PatchReport& p, bool safe) { return !p.known ? "no (unknown)" : safe ? "yes" : "no"; }

}  // namespace

std::string FormatPatchTable(const PatchesReport& report, const std::vector<PatchReport>& patches) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"PATCH", "FUNCTIONS", "RECORDED", "MARKED", "BLOCKING", "DEPRECATE", "REMOVE"});
  for (const auto& p : patches) {
    std::string functions;
    for (const auto& f : p.functions) functions += (functions.empty() ? "" : ",") + f;
    std::string first = "-";
    if (p.first_recorded_ms) {
      first = FormatAge(std::max<int64_t>(0, report.as_of_ms - *p.first_recorded_ms)) + " ago";
      if (!p.first_recorded_exact) first = "<= " + first;
    }
    rows.push_back({Cell(p.name), functions.empty() ? "-" : Cell(functions), first,
                    std::to_string(p.in_flight_with_marker), std::to_string(p.blocking_deprecation),
                    Verdict(p, p.safe_to_deprecate), Verdict(p, p.safe_to_remove)});
  }
  std::ostringstream out;
  out << AlignColumns(rows);
  if (patches.empty()) out << "(no patch marker in flight or recorded)\n";
  for (const auto& p : patches) {
    for (const auto& b : p.blockers) out << "\n" << Cell(p.name) << ": " << b.code << ": " << Cell(b.message) << '\n';
  }
  if (!report.history_complete) {
    out << "\nnote: the marker history could not be read in full (query timeout): first recorded times are upper "
           "bounds, and patches only finished workflows recorded may be missing\n";
  }
  out << "\nas of " << FormatTimestamp(report.as_of_ms) << " (rollout overlap " << FormatDuration(report.overlap)
      << ")\n";
  return out.str();
}

}  // namespace dbos_drain
