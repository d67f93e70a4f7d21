// dbos-drain patches [NAME...] [--json] [--deprecate]: one read, one verdict per workflow patch
// (docs/concepts.md, "Versions and patching").
#include <iostream>

#include "cli_options.h"
#include "commands.h"
#include "drain_error.h"
#include "names.h"
#include "patch_json.h"
#include "patch_reader.h"
#include "patch_table.h"
#include "report_json.h"

namespace po = boost::program_options;

namespace dbos_drain::cli {

int RunPatches(int argc, char** argv) {
  po::options_description opts("Options");
  opts.add_options()
      ("json", "print the patch report as JSON (the document GET /v1/patches serves)")
      ("deprecate", "exit 0 when every named patch is safe to deprecate (default: safe to remove)");
  opts.add(PatchOptionsDescription());
  opts.add(DatabaseOptions());
  po::options_description hidden;
  hidden.add_options()("names", po::value<std::vector<std::string>>());
  po::positional_options_description pos;
  pos.add("names", -1);
  po::variables_map vm;
  if (!ParseCommandLine(argc, argv, opts, hidden, &pos, vm,
                        "Usage: dbos-drain patches [NAME...] [--json] [--deprecate] [options]\n\n"
                        "Shows, per workflow patch (DBOS.patch(NAME)), the in-flight workflows holding its\n"
                        "marker and those that may still take its old branch.\n"
                        "Exit status: 0 every named patch is safe to remove (--deprecate: safe to\n"
                        "deprecate), or none named; 1 a named patch is not (or unknown); 2 error.")) {
    return kExitDrained;
  }
  std::vector<std::string> named;
  if (vm.count("names")) named = vm["names"].as<std::vector<std::string>>();
  for (const auto& n : named) {
    if (auto why = CheckName(n, "patch"); !why.empty()) throw DrainError(ErrorCode::kConfig, "invalid patch argument: " + why);
  }
  ConnectionSettings settings = SettingsFromFlags(vm);
  PatchOptions options = PatchOptionsFromFlags(vm);
  const bool deprecate = vm.count("deprecate") > 0;

  SystemDatabase db(settings);
  PatchReader reader(db);
  PatchesReport report = BuildPatchesReport(reader.Read(), options);

  std::vector<PatchReport> shown;
  bool all_safe = true;
  if (named.empty()) {
    shown = report.patches;
  } else {
    for (const auto& name : named) {
      shown.push_back(FindPatch(report, name));
      all_safe = all_safe && (deprecate ? shown.back().safe_to_deprecate : shown.back().safe_to_remove);
    }
  }
  if (vm.count("json")) {
    std::cout << DumpJson(PatchesToJson(report, &shown), 2) << std::endl;
  } else {
    std::cout << FormatPatchTable(report, shown);
  }
  return all_safe ? kExitDrained : kExitNotDrained;
}

}  // namespace dbos_drain::cli
