#include "report_table.h"

#include <algorithm>
#include <sstream>

#include "duration.h"
#include "report_json.h"

namespace dbos_drain {
namespace {

// Keeps table cells on one line: control characters (a newline in a version name) become '?'.
std::string Cell(const std::string& s) {
  return EscapeLine(s, LineStyle::kTableCell);
}

}  // namespace

std::string FormatReportTable(const Report& report, const std::vector<VersionReport>& versions) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"VERSION", "LATEST", "PENDING", "ENQUEUED", "DELAYED", "OLDEST", "EXECUTORS", "DRAINED"});
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
        v.oldest_in_flight_ms ? FormatAge(std::max<int64_t>(0, report.as_of_ms - *v.oldest_in_flight_ms)) : "-",
        executors.empty() ? "-" : Cell(executors),
        v.drained ? "yes" : (v.known ? "no" : "no (unknown)"),
    });
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  std::ostringstream out;
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      out << r[i];
      if (i + 1 < r.size()) out << std::string(width[i] - r[i].size() + 2, ' ');
    }
    out << '\n';
  }
  if (versions.empty()) out << "(no versions registered and nothing in flight)\n";
  if (report.unassigned.total() > 0) {
    out << "\nunassigned (NULL version, taken only by the latest version"
        << (report.latest_version ? " " + Cell(*report.latest_version) : std::string()) << "): "
        << report.unassigned.total() << " in flight\n";
  }
  for (const auto& v : versions) {
    if (v.reason) out << "\n" << Cell(v.version) << ": " << Cell(*v.reason) << '\n';
    if (v.note) out << "\n" << Cell(v.version) << ": " << Cell(*v.note) << '\n';
  }
  if (report.application_filter_ignored) {
    out << "\nwarning: --application ignored: " << report.shape.schema
        << ".workflow_status has no application_name column (older schema)\n";
  }
  out << "\nas of " << FormatTimestamp(report.as_of_ms) << " (database " << Cell(report.shape.database) << ", schema "
      << Cell(report.shape.schema) << ")\n";
  return out.str();
}

}  // namespace dbos_drain
