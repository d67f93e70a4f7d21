// dbos-drain status [VERSION...] [--json | --retirable] [--all]: one read, one verdict.
// Without names the table and --json show the default listing (core/version_listing.h: versions
// with work, blockers or a recent registration or finish); --all shows every version; named
// versions are shown exactly; --retirable prints every safe-to-retire version, hidden or not.
#include <iostream>

#include "cli_options.h"
#include "commands.h"
#include "drain_error.h"
#include "fleet_retire.h"
#include "set_verdict_json.h"
#include "report_json.h"
#include "report_table.h"
#include "retire_policy.h"

namespace po = boost::program_options;

namespace dbos_drain::cli {

namespace {

// status --keep: the set verdict (core/fleet_retire.h), as JSON or one line per blocker.
int PrintSetVerdict(const Report& report, const std::vector<std::string>& keep, bool json) {
  const SetVerdict verdict = JudgeAllBut(report, keep);
  if (json) {
    std::cout << DumpJson(SetVerdictToJson(verdict, report), 2) << std::endl;
  } else {
    std::string judged;
    for (const auto& v : verdict.judged) judged += (judged.empty() ? "" : ", ") + v;
    std::cout << (verdict.safe_to_retire ? "safe" : "not safe") << " to retire every version but ";
    for (size_t i = 0; i < verdict.keep.size(); ++i) std::cout << (i ? ", " : "") << verdict.keep[i];
    std::cout << " (judged: " << (judged.empty() ? "none" : judged) << ")\n";
    for (const auto& b : verdict.blockers) {
      std::cout << "  " << (b.version.empty() ? "(all)" : b.version) << ": " << b.code << ": " << b.message << "\n";
    }
    std::cout << std::flush;
  }
  return verdict.safe_to_retire ? kExitDrained : kExitNotDrained;
}

}  // namespace

int RunStatus(int argc, char** argv) {
  po::options_description opts("Options");
  opts.add_options()
      ("json", "print the report as JSON (the document GET /v1/versions serves)")
      ("retirable", "print only the names of the versions that are safe to retire, one a line (every one, "
                    "including those the listing hides)")
      ("keep", po::value<std::string>()->value_name("V[,V...]"),
       "judge every version but these (hidden ones included): exit 0 only when every other version is safe "
       "to retire (GET /v1/retire?keep=)")
      ("all", "show every version, including the ones hidden by default (safe to retire, not registered "
              "within --show-recent, nothing finished within --quiet-period)");
  opts.add(DatabaseOptions());
  po::options_description hidden;
  hidden.add_options()("versions", po::value<std::vector<std::string>>());
  po::positional_options_description pos;
  pos.add("versions", -1);
  po::variables_map vm;
  if (!ParseCommandLine(argc, argv, opts, hidden, &pos, vm,
                        "Usage: dbos-drain status [VERSION...] [--json | --retirable] [--all] [options]\n"
                        "       dbos-drain status --keep V[,V...] [--json] [options]\n\n"
                        "Shows what is in flight per application version, whether it has drained and\n"
                        "whether it is safe to retire (nothing in flight, no start within --quiet-period).\n"
                        "Exit status: 0 every named version safe to retire (or none named; with --keep:\n"
                        "every version but those), 1 one is not, 2 error.")) {
    return kExitDrained;
  }
  std::vector<std::string> named;
  if (vm.count("versions")) named = vm["versions"].as<std::vector<std::string>>();
  CheckVersionArgs(named);
  ConnectionSettings settings = SettingsFromFlags(vm);
  PolicyOptions policy = PolicyFromFlags(vm);

  std::optional<std::vector<std::string>> keep;
  if (vm.count("keep")) {
    if (!named.empty() || vm.count("retirable") || vm.count("all")) {
      throw DrainError(ErrorCode::kConfig, "--keep judges every other version: it takes no VERSION, --retirable or --all");
    }
    std::string why;
    keep = ParseKeepList(vm["keep"].as<std::string>(), &why);
    if (!keep) throw DrainError(ErrorCode::kConfig, "--keep: " + why);
  }

  SystemDatabase db(settings);
  Report report = BuildReport(db.Read(named), policy);
  if (keep) return PrintSetVerdict(report, *keep, vm.count("json") > 0);
  if (report.application_filter_ignored) {
    std::cerr << "dbos-drain: warning: --application ignored: " << report.shape.schema
              << ".workflow_status has no application_name column (older schema)\n";
  }

  if (vm.count("json") && vm.count("retirable")) {
    throw DrainError(ErrorCode::kConfig, "--json and --retirable do not go together (see --help)");
  }
  std::vector<VersionReport> shown;
  bool all_safe = true;
  Listing listing = !named.empty() ? Listing::kNamed : vm.count("all") ? Listing::kAll : Listing::kDefault;
  if (vm.count("retirable")) {
    // A filter of its own (scripts delete with it): every safe-to-retire version, hidden or not.
    if (named.empty()) listing = Listing::kAll;
  }
  if (named.empty()) {
    for (const auto& v : report.versions) {
      if (Shown(v, listing)) shown.push_back(v);
    }
  } else {
    Judgement judged = JudgeVersions(report, named, policy);
    shown = std::move(judged.versions);
    all_safe = judged.all_safe;
  }
  if (vm.count("retirable")) {
    // Names only, for `| xargs`: nothing else on stdout.
    for (const auto& v : shown) {
      if (v.safe_to_retire) std::cout << v.version << '\n';
    }
    std::cout << std::flush;
  } else if (vm.count("json")) {
    Report filtered = report;
    filtered.versions = shown;
    filtered.hidden_versions = HiddenBy(report, listing);
    std::cout << DumpJson(ReportToJson(filtered, listing), 2) << std::endl;
  } else {
    std::cout << FormatReportTable(report, shown, HiddenBy(report, listing));
  }
  return all_safe ? kExitDrained : kExitNotDrained;
}

}  // namespace dbos_drain::cli
