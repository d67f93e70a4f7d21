#include "patch_prometheus.h"

#include "prometheus_text.h"

namespace dbos_drain {
namespace {

void Family(std::string& out, const char* name, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n";
}

}  // namespace

std::string EncodePatchPrometheus(const PatchesReport* report) {
  std::string out;
  Family(out, "dbos_drain_patch_report_up", "1 when the workflow patch report could be read");
  out += std::string("dbos_drain_patch_report_up ") + (report ? "1" : "0") + "\n";
  if (!report) return out;
  struct Metric {
    const char* name;
    const char* help;
    double (*value)(const PatchReport&);
  };
  const Metric metrics[] = {
      {"dbos_drain_patch_in_flight_with_marker", "In-flight workflows holding the patch marker",
       [](const PatchReport& p) { return static_cast<double>(p.in_flight_with_marker); }},
      {"dbos_drain_patch_blocking_deprecation", "In-flight workflows without the marker that may take the old branch",
       [](const PatchReport& p) { return static_cast<double>(p.blocking_deprecation); }},
      {"dbos_drain_patch_safe_to_deprecate", "1 when no in-flight workflow blocks deprecating the patch",
       [](const PatchReport& p) { return p.safe_to_deprecate ? 1.0 : 0.0; }},
      {"dbos_drain_patch_safe_to_remove", "1 when no in-flight workflow holds the patch marker",
       [](const PatchReport& p) { return p.safe_to_remove ? 1.0 : 0.0; }},
  };
  for (const auto& m : metrics) {
    Family(out, m.name, m.help);
    for (const auto& p : report->patches) {
      out += std::string(m.name) + "{patch=\"" + EscapeLabelValue(p.name) + "\"} " + FormatSampleValue(m.value(p)) + "\n";
    }
  }
  return out;
}

}  // namespace dbos_drain
