#include "serve_options.h"

#include <algorithm>
#include <thread>

#include "cli_options.h"

namespace po = boost::program_options;

namespace dbos_drain::cli {

std::optional<ServeOptions> ParseServeOptions(int argc, char** argv) {
  po::options_description opts("Options");
  opts.add_options()
      ("listen", po::value<std::string>()->default_value("http://0.0.0.0:8080")->value_name("URL"),
       "address to serve on: http://HOST:PORT, or https://HOST:PORT with the TLS flags")
      ("refresh", po::value<std::string>()->default_value("2s")->value_name("DURATION"),
       "serve a report from memory while it is younger than this")
      ("max-staleness", po::value<std::string>()->value_name("DURATION"),
       "never serve a report older than this (default 3 x refresh + query timeout)")
      ("max-db-share", po::value<std::string>()->default_value("10%")->value_name("PERCENT"),
       "spend at most this share of one database core on report reads: a slow read stretches the refresh interval "
       "and the staleness bound (100% = no budget)")
      ("status-check-interval", po::value<std::string>()->default_value("60s")->value_name("DURATION"),
       "check for SUSPENDED workflows and unknown statuses (a scan of workflow_status) at least this often, and "
       "whenever a version's in-flight rows leave; at most --quiet-period")
      ("threads", po::value<unsigned>()->value_name("N"), "threads of cpprest's pool, the HTTP client side (default: number of cores, at least 2); "
       "the server answers on one listener thread and its own worker pool")
      ("log-format", po::value<std::string>()->default_value("json")->value_name("json|text"), "log line format on stderr")
      ("log-level", po::value<std::string>()->default_value("info")->value_name("LEVEL"), "debug, info, warn or error")
      ("auth-token-file", po::value<std::string>()->value_name("PATH"),
       "require 'Authorization: Bearer <token>' on /v1/versions*, /v1/queues/*, /v1/patches, /v1/retire, /v1/hold and /metrics")
      ("tls-cert-file", po::value<std::string>()->value_name("PATH"), "PEM certificate chain for https")
      ("tls-key-file", po::value<std::string>()->value_name("PATH"), "PEM private key for https")
      ("patch-metrics", "append the workflow patch series to /metrics (reads operation_outputs for each scrape's refresh)")
      ("header-timeout", po::value<std::string>()->default_value("10s")->value_name("DURATION"),
       "close a connection whose request (line, headers and body) has not arrived whole within this")
      ("idle-timeout", po::value<std::string>()->default_value("75s")->value_name("DURATION"),
       "close a keep-alive connection after this long without a request")
      ("max-connections", po::value<unsigned>()->default_value(1024)->value_name("N"),
       "open client connections at most; beyond it a stalled, idle or young one is closed, a pod hold's long poll last");
  opts.add(PatchOptionsDescription());
  opts.add(DatabaseOptions());
  po::options_description hidden;
  po::variables_map vm;
  if (!ParseCommandLine(argc, argv, opts, hidden, nullptr, vm,
                        "Usage: dbos-drain serve [--listen http://0.0.0.0:8080] [options]\n\n"
                        "Serves drain verdicts over HTTP (routes and status codes: docs/reference/http-api.md).")) {
    return std::nullopt;
  }
  ServeOptions o;
  if (!Logger::ParseFormat(vm["log-format"].as<std::string>(), o.log_format))
    throw DrainError(ErrorCode::kConfig, "invalid --log-format: expected json or text");
  if (!Logger::ParseLevel(vm["log-level"].as<std::string>(), o.log_level))
    throw DrainError(ErrorCode::kConfig, "invalid --log-level: expected debug, info, warn or error");

  o.settings = SettingsFromFlags(vm);
  o.settings.read_deadline.reset();  // the report cache's watchdog bounds reads (abort_after below)
  // At most the quiet period: a row never seen in flight then still shows as a recent start
  // until a check has run (core/status_ledger.h).
  o.settings.status_check_interval = std::min(DurationFlag(vm, "status-check-interval"), o.settings.quiet_period);
  o.policy = PolicyFromFlags(vm);
  o.patch_policy = PatchOptionsFromFlags(vm);
  o.patch_metrics = vm.count("patch-metrics") > 0;
  o.cache.refresh = DurationFlag(vm, "refresh");
  o.cache.max_staleness =
      vm.count("max-staleness") ? DurationFlag(vm, "max-staleness") : 3 * o.cache.refresh + o.settings.query_timeout;
  o.cache.wait_timeout = o.settings.query_timeout + std::chrono::seconds(1);
  o.cache.abort_after = o.settings.query_timeout + o.settings.connect_timeout + std::chrono::seconds(1);
  {
    // "10%" or "0.1"; 0 < share <= 100%.
    const std::string text = vm["max-db-share"].as<std::string>();
    const bool percent = !text.empty() && text.back() == '%';
    const std::string number = percent ? text.substr(0, text.size() - 1) : text;
    double share = 0;
    size_t used = 0;
    try {
      share = std::stod(number, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (percent) share /= 100;
    if (number.empty() || used != number.size() || !(share > 0) || share > 1) {
      throw DrainError(ErrorCode::kConfig, "invalid --max-db-share '" + text + "': expected a share above 0% and at most 100%, e.g. 10%");
    }
    o.cache.max_db_share = share;
  }
  if (o.cache.max_staleness < o.cache.refresh) {
    throw DrainError(ErrorCode::kConfig, "--max-staleness must be at least --refresh");
  }
  if (vm.count("tls-cert-file") || vm.count("tls-key-file")) {
    if (!vm.count("tls-cert-file") || !vm.count("tls-key-file"))
      throw DrainError(ErrorCode::kConfig, "--tls-cert-file and --tls-key-file go together");
    o.tls = TlsFiles{vm["tls-cert-file"].as<std::string>(), vm["tls-key-file"].as<std::string>()};
  }
  if (vm.count("auth-token-file")) o.token = std::make_unique<AuthToken>(vm["auth-token-file"].as<std::string>());

  // The front listener's connection rules (front_listener.h, issue 15).
  o.limits.timeouts.header = DurationFlag(vm, "header-timeout");
  o.limits.timeouts.idle = DurationFlag(vm, "idle-timeout");

  o.limits.max_connections = vm["max-connections"].as<unsigned>();
  if (o.limits.max_connections == 0) throw DrainError(ErrorCode::kConfig, "--max-connections must be at least 1");
  // cpprest's pool (its HTTP client side): its default of 40 threads is too many for 2 cores.
  o.threads = vm.count("threads") ? vm["threads"].as<unsigned>() : std::max(2u, std::thread::hardware_concurrency());
  if (o.threads == 0 || o.threads > 256) throw DrainError(ErrorCode::kConfig, "--threads must be 1..256");
  o.listen = vm["listen"].as<std::string>();
  return o;
}

}  // namespace dbos_drain::cli
