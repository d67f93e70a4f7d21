// dbos-drain wait VERSION... : poll until every named version is safe to retire.
// A database error is printed and retried at the next interval; it is never taken as drained.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <thread>

#include "cli_options.h"
#include "commands.h"
#include "drain_error.h"
#include "duration.h"
#include "fleet_retire.h"
#include "retire_policy.h"

namespace po = boost::program_options;

namespace dbos_drain::cli {
namespace {

std::atomic<int> g_signal{0};
extern "C" void OnSignal(int sig) { g_signal.store(sig); }

// "v1: draining, 3 in flight (3 pending, 0 enqueued, 0 delayed); v2: safe to retire": each
// version's phase and what blocks it, without ages, so the line changes only when the state does.
std::string Progress(const std::vector<VersionReport>& versions, int64_t window_ms) {
  std::string out;
  for (const auto& v : versions) {
    if (!out.empty()) out += "; ";
    out += v.version + ": ";
    if (v.safe_to_retire) {
      out += "safe to retire";
      continue;
    }
    out += PhaseName(v.phase);
    for (const auto& b : v.blockers) {
      out += ", ";
      if (b.code == "in_flight") {
        out += std::to_string(v.in_flight.total()) + " in flight (" + std::to_string(v.in_flight.pending) +
               " pending, " + std::to_string(v.in_flight.enqueued) + " enqueued, " +
               std::to_string(v.in_flight.delayed) + " delayed)";
      } else if (b.code == "recent_intake") {
        out += std::to_string(v.intake.started) + " started in the last " +
               FormatDuration(std::chrono::milliseconds(window_ms));
      } else if (b.code == "unknown_version") {
        out += "unknown version";
      } else if (b.code == "latest") {
        out += "the latest version";
      } else if (b.code == "stuck") {
        out += "stuck: no executor of " + v.version + " connected";
      } else {
        out += b.code;
      }
    }
  }
  return out;
}

// wait --keep: "v2: in_flight, recent_intake; v3: latest" (codes only: the line changes only
// when the state does), or "every version but v4 safe to retire".
std::string SetProgress(const SetVerdict& verdict) {
  if (verdict.safe_to_retire) return "every version but the kept ones safe to retire";
  std::string out;
  std::string last;
  for (const auto& b : verdict.blockers) {
    if (b.version != last || out.empty()) {
      out += (out.empty() ? "" : "; ") + (b.version.empty() ? std::string("(all)") : b.version) + ": " + b.code;
      last = b.version;
    } else {
      out += ", " + b.code;
    }
  }
  return out;
}

}  // namespace

int RunWait(int argc, char** argv) {
  po::options_description opts("Options");
  opts.add_options()
      ("timeout", po::value<std::string>()->default_value("1h")->value_name("DURATION"), "give up after this long (exit 1)")
      ("interval", po::value<std::string>()->default_value("10s")->value_name("DURATION"), "time between reads")
      ("keep", po::value<std::string>()->value_name("V[,V...]"),
       "wait until every version but these (hidden ones included) is safe to retire (GET /v1/retire?keep=)");
  opts.add(DatabaseOptions());
  po::options_description hidden;
  hidden.add_options()("versions", po::value<std::vector<std::string>>());
  po::positional_options_description pos;
  pos.add("versions", -1);
  po::variables_map vm;
  if (!ParseCommandLine(argc, argv, opts, hidden, &pos, vm,
                        "Usage: dbos-drain wait VERSION... [--timeout 1h] [--interval 10s] [options]\n"
                        "       dbos-drain wait --keep V[,V...] [--timeout 1h] [--interval 10s] [options]\n\n"
                        "Polls until every named version is safe to retire (nothing in flight, no start\n"
                        "within --quiet-period).\n"
                        "Exit status: 0 safe to retire, 1 timed out, 2 error; 130/143 on SIGINT/SIGTERM.")) {
    return kExitDrained;
  }
  std::optional<std::vector<std::string>> keep;
  if (vm.count("keep")) {
    if (vm.count("versions")) throw DrainError(ErrorCode::kConfig, "--keep judges every other version: it takes no VERSION");
    std::string why;
    keep = ParseKeepList(vm["keep"].as<std::string>(), &why);
    if (!keep) throw DrainError(ErrorCode::kConfig, "--keep: " + why);
  } else if (!vm.count("versions")) {
    throw DrainError(ErrorCode::kConfig, "wait needs at least one VERSION or --keep (see --help)");
  }
  const auto named = keep ? std::vector<std::string>{} : vm["versions"].as<std::vector<std::string>>();
  CheckVersionArgs(named);
  const auto timeout = DurationFlag(vm, "timeout");
  const auto interval = DurationFlag(vm, "interval");
  ConnectionSettings settings = SettingsFromFlags(vm);
  PolicyOptions policy = PolicyFromFlags(vm);
  SystemDatabase db(settings);

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  const bool live = isatty(STDOUT_FILENO);
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + timeout;
  std::string last_line;

  while (true) {
    std::string line;
    bool drained = false;
    try {
      Report report = BuildReport(db.Read(named), policy);
      if (keep) {
        const SetVerdict verdict = JudgeAllBut(report, *keep);
        drained = verdict.safe_to_retire;
        line = SetProgress(verdict);
      } else {
        Judgement judged = JudgeVersions(report, named, policy);
        drained = judged.all_safe;
        line = Progress(judged.versions, report.quiet_period_ms);
      }
    } catch (const DrainError& e) {
      if (e.code() == ErrorCode::kConfig) throw;
      line = std::string("database error, retrying in ") + FormatDuration(interval) + ": " + e.what();
    }
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    if (live) {
      std::cout << "\r\033[K" << line << " [" << FormatAge(elapsed.count()) << "]" << std::flush;
    } else if (line != last_line) {
      std::cout << line << std::endl;
    }
    last_line = line;
    if (drained) {
      if (live) std::cout << "\n";
      std::cout << (keep ? "safe to retire every version but: " : "safe to retire: ") << [&] {
        std::string s;
        for (const auto& n : keep ? *keep : named) s += (s.empty() ? "" : ", ") + n;
        return s;
      }() << std::endl;
      return kExitDrained;
    }
    // Sleep until the next interval, waking for signals and the deadline.
    const auto wake = std::min(std::chrono::steady_clock::now() + interval, deadline);
    while (std::chrono::steady_clock::now() < wake && g_signal.load() == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (int sig = g_signal.load()) {
      if (live) std::cout << "\n";
      std::cerr << "dbos-drain: interrupted by signal " << sig << " before safe to retire" << std::endl;
      return 128 + sig;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      if (live) std::cout << "\n";
      std::cerr << "dbos-drain: timed out after " << FormatDuration(timeout) << " waiting for safe to retire: " << last_line << std::endl;
      return kExitNotDrained;
    }
  }
}

}  // namespace dbos_drain::cli
