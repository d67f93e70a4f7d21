// dbos-drain serve: the HTTP service. Wires the database reader, the report cache, the API and
// the listener together, then waits for SIGTERM/SIGINT.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <cpprest/http_listener.h>
#include <pplx/threadpool.h>

#include <future>
#include <iostream>
#include <thread>

#include "api.h"
#include "auth_token.h"
#include "cli_options.h"
#include "commands.h"
#include "duration.h"
#include "http_server.h"
#include "patch_cache.h"
#include "patch_reader.h"
#include "version.h"

namespace po = boost::program_options;

namespace dbos_drain::cli {

// Threads for requests that wait on a database read; each waits at most query timeout + 1 s.
constexpr unsigned kWorkerThreads = 64;

int RunServe(int argc, char** argv) {
  // Signals are taken by sigwait below. Block them before any thread starts (cpprest's pool
  // starts its threads in initialize_with_threads): a thread that has them unblocked may be the
  // one the kernel delivers SIGTERM to, and its default action ends the process at once, with no
  // shutdown and no exit 0.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  po::options_description opts("Options");
  opts.add_options()
      ("listen", po::value<std::string>()->default_value("http://0.0.0.0:8080")->value_name("URL"),
       "address to serve on: http://HOST:PORT, or https://HOST:PORT with the TLS flags")
      ("refresh", po::value<std::string>()->default_value("2s")->value_name("DURATION"),
       "serve a report from memory while it is younger than this")
      ("max-staleness", po::value<std::string>()->value_name("DURATION"),
       "never serve a report older than this (default 3 x refresh + query timeout)")
      ("threads", po::value<unsigned>()->value_name("N"), "HTTP worker threads (default: number of cores, at least 2)")
      ("log-format", po::value<std::string>()->default_value("json")->value_name("json|text"), "log line format on stderr")
      ("log-level", po::value<std::string>()->default_value("info")->value_name("LEVEL"), "debug, info, warn or error")
      ("auth-token-file", po::value<std::string>()->value_name("PATH"),
       "require 'Authorization: Bearer <token>' on /v1/versions*, /v1/queues/*, /v1/patches and /metrics")
      ("tls-cert-file", po::value<std::string>()->value_name("PATH"), "PEM certificate chain for https")
      ("tls-key-file", po::value<std::string>()->value_name("PATH"), "PEM private key for https")
      ("patch-metrics", "append the workflow patch series to /metrics (reads operation_outputs for each scrape's refresh)");
  opts.add(PatchOptionsDescription());
  opts.add(DatabaseOptions());
  po::options_description hidden;
  po::variables_map vm;
  if (!ParseCommandLine(argc, argv, opts, hidden, nullptr, vm,
                        "Usage: dbos-drain serve [--listen http://0.0.0.0:8080] [options]\n\n"
                        "Serves drain verdicts over HTTP (routes: README.md, docs/report-format.md).")) {
    return kExitDrained;
  }
  Logger::Format format;
  LogLevel level;
  if (!Logger::ParseFormat(vm["log-format"].as<std::string>(), format))
    throw DrainError(ErrorCode::kConfig, "invalid --log-format: expected json or text");
  if (!Logger::ParseLevel(vm["log-level"].as<std::string>(), level))
    throw DrainError(ErrorCode::kConfig, "invalid --log-level: expected debug, info, warn or error");
  Logger log(format, level);

  ConnectionSettings settings = SettingsFromFlags(vm);
  PolicyOptions policy = PolicyFromFlags(vm);
  ReportCache::Options cache_options;
  cache_options.refresh = DurationFlag(vm, "refresh");
  cache_options.max_staleness = vm.count("max-staleness") ? DurationFlag(vm, "max-staleness")
                                                          : 3 * cache_options.refresh + settings.query_timeout;
  cache_options.wait_timeout = settings.query_timeout + std::chrono::seconds(1);
  cache_options.abort_after = settings.query_timeout + settings.connect_timeout + std::chrono::seconds(1);
  if (cache_options.max_staleness < cache_options.refresh) {
    throw DrainError(ErrorCode::kConfig, "--max-staleness must be at least --refresh");
  }
  std::optional<TlsFiles> tls;
  if (vm.count("tls-cert-file") || vm.count("tls-key-file")) {
    if (!vm.count("tls-cert-file") || !vm.count("tls-key-file"))
      throw DrainError(ErrorCode::kConfig, "--tls-cert-file and --tls-key-file go together");
    tls = TlsFiles{vm["tls-cert-file"].as<std::string>(), vm["tls-key-file"].as<std::string>()};
  }
  std::unique_ptr<AuthToken> token;
  if (vm.count("auth-token-file")) token = std::make_unique<AuthToken>(vm["auth-token-file"].as<std::string>());

  // Size cpprest's pool to the cores: its default of 40 threads costs 3-5x in p99 on 2 cores.
  unsigned threads = vm.count("threads") ? vm["threads"].as<unsigned>() : std::max(2u, std::thread::hardware_concurrency());
  if (threads == 0 || threads > 256) throw DrainError(ErrorCode::kConfig, "--threads must be 1..256");
  crossplat::threadpool::initialize_with_threads(threads);

  // cpprest's listener has no idle timeout and no connection limit: every client that stalls
  // holds a descriptor until it goes away, and once the descriptors run out nobody else gets in.
  // Raise the soft limit to the hard one (as Go programs and nginx do) so that takes far longer.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
    getrlimit(RLIMIT_NOFILE, &files);
  }

  SystemDatabase db(settings);
  ServiceMetrics metrics;
  std::mutex state_mu;
  std::string db_state = "starting";
  ReportCache cache(
      [&db](const std::vector<std::string>& probe) { return db.Read(probe); },
      [&db] { db.Abort(); }, policy, cache_options,
      [&](const CachedReport* report, const DrainError* error) {
        const std::string state = error ? ErrorCodeName(error->code()) : "up";
        metrics.ObserveRead(report ? report->query_duration : std::chrono::milliseconds(0), report != nullptr, state);
        std::lock_guard<std::mutex> lock(state_mu);
        if (state == db_state) return;
        db_state = state;
        if (report) {
          log.Info("database readable", {{"database", db.description()},
                                         {"schema", report->report.shape.schema},
                                         {"versions", report->report.versions.size()},
                                         {"query_ms", report->query_duration.count()}});
        } else {
          log.Error("database unreadable", {{"code", state}, {"error", error->what()}});
        }
      });

  // GET /v1/patches (and --patch-metrics): a connection of its own, opened on the first request,
  // so the version report never waits for a patch read.
  SystemDatabase patch_db(settings);
  PatchReader patch_reader(patch_db);
  PatchCache::Options patch_cache_options;
  patch_cache_options.refresh = cache_options.refresh;
  patch_cache_options.max_staleness = cache_options.max_staleness;
  patch_cache_options.wait_timeout = cache_options.wait_timeout;
  PatchCache patches([&patch_reader] { return patch_reader.Read(); }, PatchOptionsFromFlags(vm), patch_cache_options);

  ApiContext ctx{cache, policy, settings.application, metrics, log, kVersion, nullptr};
  ctx.patches = &patches;
  ctx.patch_metrics = vm.count("patch-metrics") > 0;
  if (token) {
    AuthToken* t = token.get();
    ctx.authorize = [t](const std::string& header) { return t->Check(header); };
  }
  const std::string listen = vm["listen"].as<std::string>();
  // Which requests may run on cpprest's few I/O threads: those answered without waiting for a
  // database read. The rest go to the worker pool, so a hung database holds up pool threads
  // (each at most query timeout + 1 s), never /healthz, /readyz or fresh answers.
  auto serve_inline = [&cache, &patches, &ctx](const HttpRequest& req) {
    const RouteKind kind = RouteRequest(req.method, req.target).kind;
    if (kind == RouteKind::kPatches) return patches.IsFresh();
    if (kind == RouteKind::kMetrics && ctx.patch_metrics && !patches.IsFresh()) return false;
    if (cache.IsFresh()) return true;
    switch (kind) {
      case RouteKind::kHealthz:
      case RouteKind::kNotFound:
      case RouteKind::kMethodNotAllowed:
      case RouteKind::kBadRequest:
        return true;
      case RouteKind::kReadyz:
        return cache.ever_succeeded();  // latched: answered from memory
      default:
        return false;
    }
  };
  HttpServer server(listen, tls, [&ctx](const HttpRequest& req) { return HandleRequest(ctx, req); }, log,
                    serve_inline, kWorkerThreads);
  server.Open();
  log.Info("listening", {{"listen", listen},
                         {"version", kVersion},
                         {"database", db.description()},
                         {"schema", settings.schema},
                         {"refresh_ms", cache_options.refresh.count()},
                         {"max_staleness_ms", cache_options.max_staleness.count()},
                         {"threads", threads},
                         {"max_open_files", static_cast<long long>(files.rlim_cur)},
                         {"auth", token != nullptr},
                         {"tls", tls.has_value()}});
  // Warm up: the first read makes /readyz true sooner. Not on this thread: it must reach sigwait
  // at once, or a SIGTERM during a slow first read would wait for it (query timeout + 1 s).
  auto warm_up = std::async(std::launch::async, [&cache] { cache.Get(); });

  int sig = 0;
  sigwait(&signals, &sig);
  log.Info("stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  // Finish requests in flight, but exit within 5 s whatever happens. cpprest cannot stop
  // accepting without cutting every open connection, so: answer everything from now on with
  // Connection: close, let requests in flight finish (a read may take query timeout + 1 s), then
  // release the ones still waiting on a hung database (they get the report within
  // max-staleness, or a 503), and only then close the listener.
  auto closing = std::async(std::launch::async, [&server, &cache] {
    server.BeginShutdown();
    if (!server.WaitIdle(std::chrono::milliseconds(2500))) {
      cache.Shutdown();
      server.WaitIdle(std::chrono::milliseconds(1000));
    }
    server.Close();
  });
  if (closing.wait_for(std::chrono::seconds(4)) != std::future_status::ready) {
    log.Warn("requests still in flight after 4s; exiting anyway");
    log.Info("stopped");
    std::fflush(nullptr);
    std::_Exit(0);
  }
  cache.Shutdown();  // releases the warm-up read if it still waits
  warm_up.wait();
  log.Info("stopped");
  return kExitDrained;
}

}  // namespace dbos_drain::cli
