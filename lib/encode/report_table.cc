#include "report_table.h"

#include <algorithm>
#include <sstream>

#include "duration.h"
#include "report_json.h"
#include "retire_policy.h"

namespace dbos_drain {
namespace {

// Keeps table cells on one line: control characters (a newline in a version name) become '?'.
std::string Cell(const std::string& s) {
  return EscapeLine(s, LineStyle::kTableCell);
}

}  // namespace

std::string FormatReportTable(const Report& report, const std::vector<VersionReport>& versions, size_t hidden) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"VERSION", "LATEST", "PENDING", "ENQUEUED", "DELAYED", "SUSPENDED", "OLDEST", "EXECUTORS", "DRAINED", "PHASE",
                  "RETIRE"});
  for (const auto& v : versions) {
    std::string executors;
    for (const auto& [name, c] : v.executors) {
      if (!executors.empty()) executors += ",";
      executors += name.empty() ? "(none)" : name;
    }
    rows.push_back({
        Cell(v.version),
        v.latest ? "yes" : "-",
        std::to_string(v.in_flight.pending),
        std::to_string(v.in_flight.enqueued),
        std::to_string(v.in_flight.delayed),
        std::to_string(v.in_flight.suspended),
        v.oldest_in_flight_age_ms ? FormatAge(*v.oldest_in_flight_age_ms) : "-",
        executors.empty() ? "-" : Cell(executors),
        v.drained ? "yes" : (v.known ? "no" : "no (unknown)"),
        PhaseName(v.phase),
        v.safe_to_retire ? "safe" : "no",
    });
  }
  std::ostringstream out;
  out << AlignColumns(rows);
  if (versions.empty() && hidden == 0) out << "(no versions registered and nothing in flight)\n";
  if (report.unassigned.total() > 0) {
    out << "\nunassigned (NULL version, taken by the latest version"
        << (report.latest_version ? " " + Cell(*report.latest_version) : std::string()) << "): "
        << report.unassigned.total() << " in flight\n";
  }
  // One blockers line per version that is not safe to retire (the codes with their counts).
  bool blocked = false;
  for (const auto& v : versions) {
    if (v.safe_to_retire) continue;
    if (!blocked) out << '\n';
    blocked = true;
    out << Cell(RetireLine(v, report.as_of_ms, report.quiet_period_ms)) << '\n';
  }
  for (const auto& v : versions) {
    if (v.reason) out << "\n" << Cell(v.version) << ": " << Cell(*v.reason) << '\n';
    if (v.note) out << "\n" << Cell(v.version) << ": " << Cell(*v.note) << '\n';
  }
  if (report.application_filter_ignored) {
    out << "\nwarning: --application ignored: " << report.shape.schema
        << ".workflow_status has no application_name column (older schema)\n";
  }
  if (report.shape.migration_newer_than_known()) {
    out << "\nnote: schema migration " << *report.shape.migration << " is newer than the newest dbos-drain was tested "
        << "with (" << kNewestKnownMigration << "); it was read because its tables and columns have a known shape. "
        << "Upgrade dbos-drain when a release knows this level\n";
  }
  out << "\nas of " << FormatTimestamp(report.as_of_ms) << " (database " << Cell(report.shape.database) << ", schema "
      << Cell(report.shape.schema) << ")\n";
  if (hidden > 0) {
    out << hidden << (hidden == 1 ? " version" : " versions")
        << " hidden: safe to retire, not registered within --show-recent "
        << FormatDuration(std::chrono::milliseconds(report.show_recent_ms))
        << ", nothing finished within the quiet period; --all shows " << (hidden == 1 ? "it" : "them") << "\n";
  }
  return out.str();
}

}  // namespace dbos_drain
