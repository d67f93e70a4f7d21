#include "cli_options.h"

#include <cstdlib>
#include <iostream>

#include "database_url.h"
#include "drain_error.h"
#include "duration.h"
#include "names.h"

namespace po = boost::program_options;

namespace dbos_drain::cli {

po::options_description DatabaseOptions() {
  po::options_description d("Database");
  d.add_options()
      ("database-url", po::value<std::string>()->value_name("URL"),
       "system database URL (postgres://, postgresql:// or key=value); default $DBOS_SYSTEM_DATABASE_URL")
      ("database-url-file", po::value<std::string>()->value_name("PATH"),
       "read the URL from this file (e.g. a mounted Secret)")
      ("schema", po::value<std::string>()->default_value("dbos")->value_name("NAME"), "DBOS system schema")
      ("application", po::value<std::string>()->value_name("NAME"),
       "count only this application's rows (and rows owned by no application)")
      ("connect-timeout", po::value<std::string>()->default_value("5s")->value_name("DURATION"), "connect timeout")
      ("query-timeout", po::value<std::string>()->default_value("5s")->value_name("DURATION"),
       "statement_timeout for each read")
      ("unknown-version", po::value<std::string>()->default_value("not-drained")->value_name("not-drained|drained"),
       "verdict for a version the database has never seen")
      ("quiet-period", po::value<std::string>()->default_value("2m")->value_name("DURATION"),
       "a version is safe to retire only when no workflow of it started within this long (database clock)")
      ("show-recent", po::value<std::string>()->default_value("24h")->value_name("DURATION"),
       "list a version that is safe to retire only when registered within this long (or something of it "
       "finished within --quiet-period); the others are hidden from the listings (--all shows them)")
      ("max-replica-lag", po::value<std::string>()->default_value("10s")->value_name("DURATION"),
       "on a hot standby further behind than this, no version is drained");
  return d;
}

po::options_description PatchOptionsDescription() {
  po::options_description d("Patches");
  d.add_options()
      ("patch-overlap", po::value<std::string>()->default_value("15m")->value_name("DURATION"),
       "how long after a patch's first marker code without it may still start workflows (the rollout's length)");
  return d;
}

PatchOptions PatchOptionsFromFlags(const po::variables_map& vm) {
  PatchOptions p;
  const std::string text = vm["patch-overlap"].as<std::string>();
  auto d = ParseDuration(text);
  if (!d || d->count() < 0) {
    throw DrainError(ErrorCode::kConfig, "invalid --patch-overlap \"" + text + "\": expected a duration like 0s, 10m or 1h");
  }
  p.overlap = *d;
  return p;
}

std::chrono::milliseconds DurationFlag(const po::variables_map& vm, const char* name) {
  const std::string text = vm[name].as<std::string>();
  auto d = ParseDuration(text);
  if (!d || d->count() <= 0) {
    throw DrainError(ErrorCode::kConfig, std::string("invalid --") + name + " \"" + text +
                                             "\": expected a positive duration like 500ms, 90s, 10m, 2h or 1h30m");
  }
  return *d;
}

ConnectionSettings SettingsFromFlags(const po::variables_map& vm) {
  DatabaseUrlSources sources;
  if (vm.count("database-url")) sources.flag = vm["database-url"].as<std::string>();
  if (vm.count("database-url-file")) sources.file_path = vm["database-url-file"].as<std::string>();
  if (const char* env = std::getenv("DBOS_SYSTEM_DATABASE_URL")) sources.env = env;
  ConnectionSettings s;
  s.url = ResolveDatabaseUrl(sources);
  s.schema = vm["schema"].as<std::string>();
  if (auto why = CheckName(s.schema, "schema"); !why.empty()) throw DrainError(ErrorCode::kConfig, "invalid --schema: " + why);
  if (vm.count("application")) {
    s.application = vm["application"].as<std::string>();
    if (auto why = CheckName(*s.application, "application"); !why.empty())
      throw DrainError(ErrorCode::kConfig, "invalid --application: " + why);
  }
  s.connect_timeout = DurationFlag(vm, "connect-timeout");
  s.query_timeout = DurationFlag(vm, "query-timeout");
  // A bound statement_timeout cannot give (a pooler's queue, a frozen server); serve resets it.
  s.read_deadline = s.connect_timeout + s.query_timeout + std::chrono::seconds(1);
  s.quiet_period = DurationFlag(vm, "quiet-period");
  return s;
}

PolicyOptions PolicyFromFlags(const po::variables_map& vm) {
  PolicyOptions p;
  p.quiet_period_ms = DurationFlag(vm, "quiet-period").count();
  const std::string v = vm["unknown-version"].as<std::string>();
  if (v == "drained") {
    p.unknown_version_drained = true;
  } else if (v != "not-drained") {
    throw DrainError(ErrorCode::kConfig, "invalid --unknown-version \"" + v + "\": expected not-drained or drained");
  }
  p.max_replica_lag = DurationFlag(vm, "max-replica-lag");
  p.show_recent_ms = DurationFlag(vm, "show-recent").count();
  return p;
}

bool ParseCommandLine(int argc, char** argv, const po::options_description& visible,
                      const po::options_description& hidden,
                      const po::positional_options_description* positional, po::variables_map& vm,
                      const char* usage) {
  po::options_description shown = visible;
  shown.add_options()("help,h", "show this help");
  po::options_description all = shown;
  all.add(hidden);
  try {
    auto parser = po::command_line_parser(argc, argv).options(all);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), vm);
    if (vm.count("help")) {
      std::cout << usage << "\n\n" << shown << "\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw DrainError(ErrorCode::kConfig, std::string(e.what()) + " (see --help)");
  }
  return true;
}

void CheckVersionArgs(const std::vector<std::string>& versions) {
  for (const auto& v : versions) {
    if (auto why = CheckName(v, "version"); !why.empty()) throw DrainError(ErrorCode::kConfig, "invalid version argument: " + why);
  }
}

}  // namespace dbos_drain::cli
