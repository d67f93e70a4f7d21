// dbos-drain through a real PgBouncer (Debian's 1.18) in transaction, session and statement mode,
// in front of the test PostgreSQL (issue 20). scripts/with-pgbouncer.sh starts the poolers
// (default_pool_size 2, so dbos-drain and the other clients here share two server connections).
// What is pinned: every command and `serve` give a direct read's verdicts; nothing dbos-drain sets
// is left on the pool's server connections (checked by other clients of the same pool, between
// dbos-drain's transactions); the window ledger equals a fresh full read after each refresh;
// --query-timeout ends a read of a locked table; what a pooler hides is unknown; the modes and
// URLs that cannot work are refused clearly.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "drain_error.h"
#include "drain_policy.h"
#include "drain_service.h"
#include "process.h"
#include "retire_policy.h"
#include "system_database.h"
#include "table_lock.h"
#include "test_database.h"

using namespace dbos_drain;
using namespace dbos_drain::testing;
using namespace std::chrono_literals;
using nlohmann::json;
using servicetest::HttpReply;

namespace {

std::string PoolerPort(const std::string& mode) {
  const std::string var = "DBOS_DRAIN_TEST_PGBOUNCER_" + mode + "_PORT";
  const char* port = std::getenv(var.c_str());
  if (!port || !*port) throw std::runtime_error(var + " is not set: run this under scripts/with-pgbouncer.sh");
  return port;
}

// `db` through the pooler in `mode` ("TRANSACTION", "SESSION", "STATEMENT").
std::string PooledUrl(const TestDatabase& db, const std::string& mode, const std::string& query = "") {
  return "postgresql://postgres@127.0.0.1:" + PoolerPort(mode) + "/" + db.name() + query;
}

ConnectionSettings Settings(const std::string& url) {
  ConnectionSettings s;
  s.url = url;
  s.connect_timeout = 5s;
  s.query_timeout = 5s;
  return s;
}

// What a verdict is made of, per version: comparable between two reads of the same rows.
using Verdict = std::tuple<bool, bool, std::string, int64_t, int64_t, std::set<std::string>>;
std::map<std::string, Verdict> Verdicts(const json& report) {
  std::map<std::string, Verdict> out;
  for (const auto& v : report.at("versions")) {
    std::set<std::string> codes;
    for (const auto& b : v.at("blockers")) codes.insert(b.at("code").get<std::string>());
    out[v.at("version").get<std::string>()] =
        Verdict{v.at("drained").get<bool>(), v.at("safe_to_retire").get<bool>(), v.at("phase").get<std::string>(),
                v.at("in_flight").at("total").get<int64_t>(), v.at("retire_hold").get<int64_t>(), codes};
  }
  return out;
}

// Per patch: the verdicts, the counts and the marker history (not the ages, which move).
std::map<std::string, json> PatchVerdicts(const json& report) {
  std::map<std::string, json> out;
  for (const auto& p : report.at("patches")) {
    json codes = json::array();
    for (const auto& b : p.at("blockers")) codes.push_back(b.at("code"));
    out[p.at("name").get<std::string>()] = json{p.at("safe_to_deprecate"), p.at("safe_to_remove"),
                                                p.at("in_flight_with_marker"), p.at("first_recorded_at"),
                                                p.at("marker_positions"), codes};
  }
  REQUIRE_FALSE(out.empty());
  return out;
}

json StatusJson(const std::string& url, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"status", "--json", "--all", "--database-url", url};
  args.insert(args.end(), extra.begin(), extra.end());
  ProcessResult r = RunDrain(args);
  INFO(r.Describe());
  REQUIRE(r.exit_code <= 1);
  return json::parse(r.out);
}

// v-old drained and quiet (safe to retire), v-mid with work in flight, v-new the latest.
void LoadVersions(const TestDatabase& db) {
  db.InsertVersion("v-old", AgoMs(3h));
  db.InsertVersion("v-mid", AgoMs(2h));
  db.InsertVersion("v-new", AgoMs(1h));
  db.InsertWorkflows(3, Workflow("SUCCESS").Version("v-old").CreatedAgo(30min).CompletedAgo(29min));
  db.InsertWorkflows(2, Workflow("PENDING").Version("v-mid").CreatedAgo(10min));
  db.InsertWorkflow(Workflow("ENQUEUED").Version("v-mid").Queue("tasks").Executor(""));
  db.InsertWorkflows(4, Workflow("PENDING").Version("v-new"));
}

// Another client of the same pool: each transaction checks that the server connection it got
// carries nothing of dbos-drain's (no session-level setting, no prepared statement, no temp
// table) and notes the backend pid.
class PoolNeighbour {
 public:
  explicit PoolNeighbour(std::string url) : url_(std::move(url)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~PoolNeighbour() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int64_t transactions() const { return transactions_; }
  const std::vector<std::string>& leaks() const { return leaks_; }
  const std::set<int64_t>& pids() const { return pids_; }
  const std::string& error() const { return error_; }

 private:
  void Run() {
    try {
      pqxx::connection c(url_);
      while (!stop_) {
        pqxx::work t(c);
        // source 'session': set by SET for the session. PgBouncer itself re-sets the client
        // parameters it tracks when it hands a server connection to another client.
        for (const auto& row : t.exec(
                 "SELECT name || '=' || setting FROM pg_settings WHERE source = 'session' AND name NOT IN "
                 "('application_name', 'client_encoding', 'DateStyle', 'TimeZone', 'standard_conforming_strings', "
                 "'IntervalStyle', 'transaction_isolation', 'transaction_read_only', 'transaction_deferrable') "
                 "UNION ALL SELECT 'prepared ' || name FROM pg_prepared_statements "
                 "UNION ALL SELECT 'temp ' || relname FROM pg_class WHERE relpersistence = 't' "
                 "UNION ALL SELECT 'statement_timeout=' || current_setting('statement_timeout') "
                 "  WHERE current_setting('statement_timeout') <> '0' "
                 "UNION ALL SELECT 'jit=' || current_setting('jit') WHERE current_setting('jit') <> 'on' "
                 "UNION ALL SELECT 'enable_bitmapscan=off' WHERE current_setting('enable_bitmapscan') <> 'on' "
                 "UNION ALL SELECT 'work_mem=' || current_setting('work_mem') WHERE current_setting('work_mem') <> '4MB'")) {
          leaks_.push_back(row[0].as<std::string>());
        }
        pids_.insert(t.exec("SELECT pg_backend_pid()")[0][0].as<int64_t>());
        t.commit();
        ++transactions_;
        std::this_thread::sleep_for(2ms);
      }
    } catch (const std::exception& e) {
      error_ = e.what();
    }
  }
  std::string url_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> transactions_{0};
  std::vector<std::string> leaks_;
  std::set<int64_t> pids_;
  std::string error_;
  std::thread thread_;
};

void CheckNeighbours(std::vector<std::unique_ptr<PoolNeighbour>>& neighbours) {
  std::set<int64_t> pids;
  for (auto& n : neighbours) {
    n->Stop();
    INFO(n->error());
    CHECK(n->error().empty());
    CHECK(n->transactions() > 10);
    CHECK(n->leaks() == std::vector<std::string>{});
    pids.insert(n->pids().begin(), n->pids().end());
  }
  CHECK(pids.size() <= 2);  // default_pool_size 2: they ran on the server connections dbos-drain used
}

}  // namespace

TEST_CASE("pooler: status, wait and patches through transaction and session mode give the direct read's verdicts",
          "[pooler]") {
  TestDatabase db;
  LoadVersions(db);
  const std::string patch_id = db.InsertWorkflow(Workflow("PENDING").Version("v-new").Name("patched"));
  db.InsertStep(Step::Marker(patch_id, 0, "fast-path"));
  const json direct = StatusJson(db.url());
  CHECK_FALSE(direct.at("through_pooler").get<bool>());
  REQUIRE(Verdicts(direct).at("v-old") == Verdict{true, true, "drained", 0, 0, {}});
  ProcessResult direct_patches = RunDrain({"patches", "--json", "--database-url", db.url()});
  REQUIRE(direct_patches.exit_code <= 1);

  for (const std::string mode : {"TRANSACTION", "SESSION"}) {
    SECTION(mode) {
      const std::string url = PooledUrl(db, mode);
      const json pooled = StatusJson(url);
      CHECK(pooled.at("through_pooler").get<bool>());
      CHECK(Verdicts(pooled) == Verdicts(direct));
      // The exit codes too: 0 for a drained version, 1 for one with work in flight.
      CHECK(RunDrain({"status", "v-old", "--database-url", url}).exit_code == 0);
      CHECK(RunDrain({"status", "v-mid", "--database-url", url}).exit_code == 1);
      // wait: several reads on one connection (each its own transactions).
      CHECK(RunDrain({"wait", "v-old", "--interval", "50ms", "--timeout", "5s", "--database-url", url}).exit_code == 0);
      ProcessResult waited = RunDrain({"wait", "v-mid", "--interval", "50ms", "--timeout", "400ms", "--database-url", url});
      INFO(waited.Describe());
      CHECK(waited.exit_code == 1);
      ProcessResult patches = RunDrain({"patches", "--json", "--database-url", url});
      INFO(patches.Describe());
      CHECK(patches.exit_code == direct_patches.exit_code);
      CHECK(PatchVerdicts(json::parse(patches.out)) == PatchVerdicts(json::parse(direct_patches.out)));
    }
  }
}

TEST_CASE("pooler: serve through transaction mode over 100 refreshes, sharing a pool of 2, leaves nothing behind",
          "[pooler][serve]") {
  TestDatabase db;
  LoadVersions(db);
  const auto want = Verdicts(StatusJson(db.url()));
  const std::string url = PooledUrl(db, "TRANSACTION");
  std::vector<std::unique_ptr<PoolNeighbour>> neighbours;
  neighbours.push_back(std::make_unique<PoolNeighbour>(url));
  neighbours.push_back(std::make_unique<PoolNeighbour>(url));

  servicetest::ServeConfig config = servicetest::Config(url);
  config.refresh = "10ms";
  config.query_timeout = "5s";
  config.extra_args = {"--max-db-share", "100%"};
  servicetest::DrainService service(config);
  auto reads = [&] {
    auto m = service.Get("/metrics");
    REQUIRE(m.status == 200);
    const std::string key = "\ndbos_drain_report_query_duration_seconds_count ";
    auto at = m.body.find(key);
    REQUIRE(at != std::string::npos);
    return std::stod(m.body.substr(at + key.size()));
  };
  int answers = 0;
  // Until both hold (a slow build, e.g. under ASan, refreshes more often per answer).
  for (int i = 0; i < 400 && (reads() < 105 || answers < 60); ++i) {
    std::this_thread::sleep_for(12ms);
    auto r = service.Get(i % 5 == 4 ? "/v1/patches" : "/v1/versions?all=true");
    INFO(r.status << " " << r.body.substr(0, 300));
    REQUIRE(r.status == 200);
    if (i % 5 != 4) {
      json report = json::parse(r.body);
      CHECK(report.at("through_pooler").get<bool>());
      CHECK(Verdicts(report) == want);
      ++answers;
    }
  }
  CHECK(reads() >= 100);
  CHECK(answers >= 60);
  CheckNeighbours(neighbours);
  // And a client that comes after, on the same two server connections.
  PoolNeighbour after(url);
  std::this_thread::sleep_for(100ms);
  neighbours.clear();
  after.Stop();
  CHECK(after.leaks() == std::vector<std::string>{});
  CHECK(service.Stop().exit_code == 0);
}

TEST_CASE("pooler: serve through session mode answers the direct verdicts", "[pooler][serve]") {
  TestDatabase db;
  LoadVersions(db);
  const auto want = Verdicts(StatusJson(db.url()));
  servicetest::ServeConfig config = servicetest::Config(PooledUrl(db, "SESSION"));
  config.refresh = "10ms";
  config.extra_args = {"--max-db-share", "100%"};
  servicetest::DrainService service(config);
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(15ms);
    auto r = service.Get("/v1/versions?all=true");
    REQUIRE(r.status == 200);
    CHECK(Verdicts(json::parse(r.body)) == want);
  }
  CHECK(service.Stop().exit_code == 0);
}

TEST_CASE("pooler: the window ledger equals a fresh full read after each refresh in transaction mode",
          "[pooler][window]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(10min));
  db.InsertVersion("v2", AgoMs(5min));
  const std::string url = PooledUrl(db, "TRANSACTION");
  std::vector<std::unique_ptr<PoolNeighbour>> neighbours;
  neighbours.push_back(std::make_unique<PoolNeighbour>(url));
  SystemDatabase reader(Settings(url));
  auto intake = [](const Snapshot& s) {
    std::map<std::tuple<std::optional<std::string>, std::string>, int64_t> v;
    for (const auto& g : s.intake) v[{g.version, g.name}] += g.count;
    return v;
  };
  auto finishes = [](const Snapshot& s) {
    std::map<std::optional<std::string>, int64_t> v;
    for (const auto& g : s.finished) v[g.version] += g.count;
    return v;
  };
  std::vector<std::string> running;
  int incremental = 0;
  for (int i = 0; i < 40; ++i) {
    // Starts (one stamped 5 s back: a slow commit), finishes, a client enqueue dequeued by v1.
    running.push_back(db.InsertWorkflow(Workflow("PENDING").Version(i % 2 ? "v1" : "v2").Name("w" + std::to_string(i % 3))));
    if (i % 4 == 0) db.InsertWorkflow(Workflow("PENDING").Version("v2").Name("late").CreatedAgo(5s));
    if (i % 3 == 0 && running.size() > 2) {
      db.Finish(running.front());
      running.erase(running.begin());
    }
    Snapshot got = reader.Read();
    if (!got.window_read.full()) ++incremental;
    SystemDatabase fresh(Settings(db.url()));
    Snapshot full = fresh.Read();
    REQUIRE(full.window_read.full());
    INFO("refresh " << i);
    CHECK(intake(got) == intake(full));
    CHECK(finishes(got) == finishes(full));
    CHECK(got.through_pooler);
    CHECK_FALSE(got.sessions_visible);
  }
  CHECK(incremental >= 30);
  CHECK(reader.through_pooler());
  CheckNeighbours(neighbours);
}

TEST_CASE("pooler: a locked table behind PgBouncer ends in the query timeout's error", "[pooler][timeout]") {
  TestDatabase db;
  LoadVersions(db);
  const std::string url = PooledUrl(db, "TRANSACTION");
  {
    TableLock lock(db, "workflow_status");
    const auto start = std::chrono::steady_clock::now();
    ProcessResult r = RunDrain({"status", "--query-timeout", "1s", "--database-url", url});
    INFO(r.Describe());
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("query timed out after 1000 ms"));
    CHECK(Since(start) < 8s);
  }
  // The timeout was the transaction's: the next client of the pool does not inherit it.
  PoolNeighbour after(url);
  std::this_thread::sleep_for(100ms);
  after.Stop();
  CHECK(after.error().empty());
  CHECK(after.transactions() > 0);
  CHECK(after.leaks() == std::vector<std::string>{});
}

TEST_CASE("pooler: a pool whose server connections are all busy ends in a timeout, not a hang", "[pooler][timeout]") {
  TestDatabase db;
  LoadVersions(db);
  const std::string url = PooledUrl(db, "TRANSACTION");
  // Both server connections of the pool (default_pool_size 2) held by open transactions: a new
  // transaction waits in PgBouncer's queue, where no statement_timeout runs.
  std::vector<std::unique_ptr<pqxx::connection>> holders;
  std::vector<std::unique_ptr<pqxx::work>> held;
  for (int i = 0; i < 2; ++i) {
    holders.push_back(std::make_unique<pqxx::connection>(url));
    held.push_back(std::make_unique<pqxx::work>(*holders.back()));
    held.back()->exec("SELECT 1");
  }
  const auto start = std::chrono::steady_clock::now();
  ProcessResult r = RunDrain({"status", "--query-timeout", "1s", "--connect-timeout", "1s", "--database-url", url});
  INFO(r.Describe());
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("no answer from the database within 3000 ms"));
  CHECK_THAT(r.err, Catch::Contains("connection pooler whose server connections are all busy"));
  CHECK(Since(start) < 8s);
  held.clear();
  // Freed, the same URL answers.
  CHECK(RunDrain({"status", "v-old", "--database-url", url}).exit_code == 0);
}

TEST_CASE("pooler: the application's sessions behind a pooler are unknown, not guessed", "[pooler][sessions]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(2h));
  db.InsertVersion("v2", AgoMs(1h));
  db.InsertWorkflow(Workflow("PENDING").Version("v1").Executor("pod-a").CreatedAgo(10min));
  // TS SDK sessions of v1's and v2's executors, seen directly in pg_stat_activity.
  auto session = [&](const std::string& executor, const std::string& version) {
    return std::make_unique<pqxx::connection>("postgresql://postgres@" + db.host() + ":" + db.port() + "/" + db.name() +
                                              "?application_name=" + SdkSessionName(executor, version));
  };
  auto app_v1 = session("pod-a", "v1");
  auto app_v2 = session("pod-b", "v2");
  const json direct = StatusJson(db.url());
  const json pooled = StatusJson(PooledUrl(db, "TRANSACTION"));
  auto entry = [](const json& report, const std::string& version) {
    for (const auto& v : report.at("versions")) {
      if (v.at("version") == version) return v;
    }
    FAIL("no entry for " << version);
    return json();
  };
  CHECK(entry(direct, "v1").at("executors").at("pod-a").at("connected") == true);
  CHECK(entry(pooled, "v1").at("executors").at("pod-a").at("connected").is_null());
  CHECK(pooled.at("through_pooler").get<bool>());
  // Without the session, a direct read says stuck; through the pooler it cannot tell.
  app_v1.reset();
  for (int i = 0; i < 50 && entry(StatusJson(db.url()), "v1").at("phase") != "stuck"; ++i) std::this_thread::sleep_for(20ms);
  CHECK(entry(StatusJson(db.url()), "v1").at("phase") == "stuck");
  CHECK(entry(StatusJson(PooledUrl(db, "TRANSACTION")), "v1").at("phase") == "draining");
}

TEST_CASE("pooler: statement mode and refused startup parameters end in a clear configuration error",
          "[pooler][errors]") {
  TestDatabase db;
  LoadVersions(db);
  ProcessResult statement = RunDrain({"status", "--database-url", PooledUrl(db, "STATEMENT")});
  INFO(statement.Describe());
  CHECK(statement.exit_code == 2);
  CHECK_THAT(statement.err, Catch::Contains("PgBouncer in statement mode cannot run dbos-drain's read transaction"));
  CHECK_THAT(statement.err, Catch::Contains("use a pool in transaction or session mode"));

  servicetest::ServeConfig config = servicetest::Config(PooledUrl(db, "STATEMENT"));
  config.wait_ready = false;
  servicetest::DrainService service(config);
  auto r = servicetest::PollUntil(service, "/v1/versions", [](const HttpReply& r) { return r.status >= 500; }, 5s);
  INFO(r.body);
  CHECK(servicetest::IsJsonError(r, 503, "config_error"));
  CHECK_THAT(r.body, Catch::Contains("statement mode"));

  ProcessResult options = RunDrain({"status", "--database-url", PooledUrl(db, "TRANSACTION", "?options=-cjit%3Doff")});
  INFO(options.Describe());
  CHECK(options.exit_code == 2);
  CHECK_THAT(options.err, Catch::Contains("the connection pooler refuses the startup parameter options"));
  CHECK_THAT(options.err, Catch::Contains("ignore_startup_parameters"));
}
