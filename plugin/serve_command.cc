// dbos-drain serve: the HTTP service. Options (serve_options.h) and the lifecycle
// (serve_lifecycle.h) have files of their own; this file wires the database reader, the report
// cache, the API and the listener together, in the order the lifecycle needs.
#include <sys/resource.h>

#include <pplx/threadpool.h>

#include <future>
#include <mutex>

#include "answer_inline.h"
#include "api.h"
#include "cli_options.h"
#include "commands.h"
#include "hold_board.h"
#include "http_server.h"
#include "patch_cache.h"
#include "patch_reader.h"
#include "serve_lifecycle.h"
#include "serve_options.h"
#include "version.h"

namespace dbos_drain::cli {

namespace {

// Threads for requests that wait on a database read; each waits at most query timeout + 1 s.
constexpr unsigned kWorkerThreads = 64;

// Each client connection holds up to three descriptors (front_listener.h); the front listener
// caps them at --max-connections and closes stalled and idle ones. Raise the soft limit to the
// hard one (as Go programs and nginx do) so the cap, not the limit, is what is reached.
// Returns the soft limit in effect.
rlim_t RaiseOpenFileLimit() {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
    getrlimit(RLIMIT_NOFILE, &files);
  }
  return files.rlim_cur;
}

// After each read: the metrics, and one log line whenever the database's state changes
// ("database readable" / "database unreadable").
class ReadObserver {
 public:
  ReadObserver(ServiceMetrics& metrics, Logger& log, const SystemDatabase& db, const CacheOptions& cache)
      : metrics_(metrics), log_(log), db_(db), cache_(cache) {}

  void operator()(const CachedReport* report, const DrainError* error) {
    const std::string state = error ? ErrorCodeName(error->code()) : "up";
    metrics_.ObserveRead(report ? report->query_duration : std::chrono::milliseconds(0), report != nullptr, state);
    std::lock_guard<std::mutex> lock(mu_);
    if (report) LogReplica(report->report.replica);
    // The database budget (--max-db-share): say when it starts and stops stretching the interval.
    if (report && (report->refresh_interval > cache_.refresh) != throttled_) {
      throttled_ = !throttled_;
      const nlohmann::json fields{{"query_ms", report->query_duration.count()},
                                  {"refresh_ms", report->refresh_interval.count()},
                                  {"max_staleness_ms", report->staleness_bound.count()},
                                  {"max_db_share", cache_.max_db_share}};
      if (throttled_) {
        log_.Warn("refresh throttled by --max-db-share: the report read is slow, so refreshes wait longer", fields);
      } else {
        log_.Info("refresh no longer throttled", fields);
      }
    }
    if (state == state_) return;
    state_ = state;
    if (report) {
      log_.Info("database readable", {{"database", db_.description()},
                                      {"schema", report->report.shape.schema},
                                      {"versions", report->report.versions.size()},
                                      {"query_ms", report->query_duration.count()}});
    } else {
      log_.Error("database unreadable", {{"code", state}, {"error", error->what()}});
    }
  }

 private:
  // Issue 15: says when a standby's data gets too old for a verdict, and when it is back.
  void LogReplica(const ReplicaAssessment& replica) {
    const std::string replica_state = replica.fresh ? "fresh" : "stale";
    if (replica_state != replica_state_ && (replica.standby || replica_state_ == "stale")) {
      nlohmann::json fields{{"state", replica.state},
                            {"lag_seconds", replica.lag_seconds ? nlohmann::json(*replica.lag_seconds) : nlohmann::json(nullptr)},
                            {"max_replica_lag_ms", replica.max_lag_ms}};
      if (replica.fresh) {
        log_.Info("replica within --max-replica-lag", fields);
      } else {
        fields["reason"] = replica.reason.value_or("");
        log_.Warn("replica too far behind: no version is reported drained", fields);
      }
    }
    replica_state_ = replica_state;
  }

  ServiceMetrics& metrics_;
  Logger& log_;
  const SystemDatabase& db_;
  const CacheOptions& cache_;
  std::mutex mu_;
  std::string state_ = "starting";
  std::string replica_state_ = "fresh";
  bool throttled_ = false;
};

}  // namespace

int RunServe(int argc, char** argv) {
  StopSignals stop;  // before any thread starts
  std::optional<ServeOptions> options = ParseServeOptions(argc, argv);
  if (!options) return kExitDrained;  // --help
  const ServeOptions& o = *options;
  Logger log(o.log_format, o.log_level);

  crossplat::threadpool::initialize_with_threads(o.threads);
  const rlim_t max_open_files = RaiseOpenFileLimit();

  SystemDatabase db(o.settings);
  ServiceMetrics metrics;
  ReadObserver observer(metrics, log, db, o.cache);
  std::atomic<HoldBoard*> hold_board{nullptr};  // woken after every read (issue 24)
  ReportCache cache(
      [&db](const std::vector<std::string>& probe) { return db.Read(probe); }, [&db] { db.Abort(); }, o.policy,
      o.cache, [&observer, &hold_board](const CachedReport* report, const DrainError* error) {
        observer(report, error);
        if (HoldBoard* b = hold_board.load()) b->Wake();
      });

  // GET /v1/patches (and --patch-metrics): a connection of its own, opened on the first request,
  // so the version report never waits for a patch read.
  SystemDatabase patch_db(o.settings);
  PatchReader patch_reader(patch_db);
  PatchCache::Options patch_cache_options;
  patch_cache_options.refresh = o.cache.refresh;
  patch_cache_options.max_staleness = o.cache.max_staleness;
  patch_cache_options.wait_timeout = o.cache.wait_timeout;
  PatchCache patches([&patch_reader] { return patch_reader.Read(); }, o.patch_policy, patch_cache_options);

  ApiContext ctx{cache, o.policy, o.settings.application, metrics, log, kVersion, nullptr};
  ctx.patches = &patches;
  ctx.patch_metrics = o.patch_metrics;
  if (o.token) {
    AuthToken* t = o.token.get();
    ctx.authorize = [t](const std::string& header) { return t->Check(header); };
  }
  auto serve_inline = [&cache, &patches, &ctx](const HttpRequest& req) {
    const Route route = RouteRequest(req.method, req.target);
    // The patch routes wait on the patch cache, not the report cache.
    if (route.kind == RouteKind::kPatches) return patches.IsFresh();
    if (route.kind == RouteKind::kMetrics && ctx.patch_metrics && !patches.IsFresh()) return false;
    return AnswersWithoutWaiting(route, cache.IsFresh(), cache.ever_succeeded());
  };
  HttpServer server(o.listen, o.tls, [&ctx](const HttpRequest& req) { return HandleRequest(ctx, req); }, log,
                    serve_inline, kWorkerThreads, o.limits);
  // The pod hold (docs/guards.md, "The pod hold"): a released executor counts as leaving for 3 staleness
  // bounds, so its lingering session is not taken for a live worker of its version.
  HoldBoard holds(cache, std::chrono::milliseconds(kMaxHoldBound), 3 * o.cache.max_staleness);
  hold_board.store(&holds);
  ctx.holds = &holds;
  server.SetDefer([&ctx](const HttpRequest& req, std::function<void(HttpResponse)> done) {
    return StartHold(ctx, req, std::move(done));
  });
  server.Open();
  log.Info("listening", {{"listen", o.listen},
                         {"version", kVersion},
                         {"database", db.description()},
                         {"schema", o.settings.schema},
                         {"refresh_ms", o.cache.refresh.count()},
                         {"max_staleness_ms", o.cache.max_staleness.count()},
                         {"max_db_share", o.cache.max_db_share},
                         {"threads", o.threads},
                         {"max_open_files", static_cast<long long>(max_open_files)},
                         {"header_timeout_ms", o.limits.timeouts.header.count()},
                         {"idle_timeout_ms", o.limits.timeouts.idle.count()},
                         {"max_connections", o.limits.max_connections},
                         {"auth", o.token != nullptr},
                         {"tls", o.tls.has_value()}});
  // Warm up: the first read makes /readyz true sooner. Not on this thread: it must reach the
  // signal wait at once, or a SIGTERM during a slow first read would wait for it (query timeout + 1 s).
  auto warm_up = std::async(std::launch::async, [&cache] { cache.Get(); });

  stop.Wait(log);
  holds.Shutdown();  // holders get 503 at once and ask another replica
  ShutDown(server, cache, log, warm_up);
  hold_board.store(nullptr);
  return kExitDrained;
}

}  // namespace dbos_drain::cli
