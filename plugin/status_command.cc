// dbos-drain status [VERSION...] [--json]: one read, one verdict.
#include <iostream>

#include "cli_options.h"
#include "commands.h"
#include "drain_error.h"
#include "report_json.h"
#include "report_table.h"

namespace po = boost::program_options;

namespace dbos_drain::cli {

int RunStatus(int argc, char** argv) {
  po::options_description opts("Options");
  opts.add_options()
      ("json", "print the report as JSON (the document GET /v1/versions serves)");
  opts.add(DatabaseOptions());
  po::options_description hidden;
  hidden.add_options()("versions", po::value<std::vector<std::string>>());
  po::positional_options_description pos;
  pos.add("versions", -1);
  po::variables_map vm;
  if (!ParseCommandLine(argc, argv, opts, hidden, &pos, vm,
                        "Usage: dbos-drain status [VERSION...] [--json] [options]\n\n"
                        "Shows what is in flight per application version and whether it has drained.\n"
                        "Exit status: 0 every named version drained (or none named), 1 a named version\n"
                        "is not drained, 2 error.")) {
    return kExitDrained;
  }
  std::vector<std::string> named;
  if (vm.count("versions")) named = vm["versions"].as<std::vector<std::string>>();
  CheckVersionArgs(named);
  ConnectionSettings settings = SettingsFromFlags(vm);
  PolicyOptions policy = PolicyFromFlags(vm);

  SystemDatabase db(settings);
  Report report = BuildReport(db.Read(named), policy);
  if (report.application_filter_ignored) {
    std::cerr << "dbos-drain: warning: --application ignored: " << report.shape.schema
              << ".workflow_status has no application_name column (older schema)\n";
  }

  std::vector<VersionReport> shown;
  bool all_drained = true;
  if (named.empty()) {
    shown = report.versions;
  } else {
    for (const auto& name : named) {
      shown.push_back(FindVersion(report, name, policy));
      all_drained = all_drained && shown.back().drained;
    }
  }
  if (vm.count("json")) {
    Report filtered = report;
    filtered.versions = shown;
    std::cout << DumpJson(ReportToJson(filtered), 2) << std::endl;
  } else {
    std::cout << FormatReportTable(report, shown);
  }
  return all_drained ? kExitDrained : kExitNotDrained;
}

}  // namespace dbos_drain::cli
