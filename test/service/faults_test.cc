// Issues 3, 6 and 7: database faults with `dbos-drain serve` (and, where it applies,
// `dbos-drain wait`) running. For every fault: no 2xx "drained" answer that the database does not
// back (a not-drained version is never drained; a drained one only from a report younger than
// --max-staleness), no hang (every answer within query timeout + 1 s), no exit 0 from `wait`, a
// clear error, and back to normal without a restart once the fault ends.
//
// These tests stop and start PostgreSQL: they run on a private server (the CTest command wraps
// this binary in scripts/with-postgres.sh and sets DBOS_DRAIN_TEST_PRIVATE_SERVER=1).
#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <sstream>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <pqxx/pqxx>

#include "drain_service.h"
#include "table_lock.h"
#include "test_database.h"

using namespace dbos_drain::servicetest;
using dbos_drain::testing::AdminUrl;
using dbos_drain::testing::AgoMs;
using dbos_drain::testing::BackgroundProcess;
using dbos_drain::testing::DrainBinary;
using dbos_drain::testing::ProcessOptions;
using dbos_drain::testing::ProcessResult;
using dbos_drain::testing::RunProcess;
using dbos_drain::testing::TableLock;
using dbos_drain::testing::TestDatabase;
using dbos_drain::testing::WaitUntil;
using dbos_drain::testing::Workflow;

namespace {

// The timings every test here uses (see ServeConfig): --refresh 200ms --query-timeout 1s.
constexpr auto kQueryTimeout = milliseconds(1000);
constexpr auto kMaxStaleness = milliseconds(3 * 200 + 1000);   // the default: 3 x refresh + query timeout
constexpr auto kWaitTimeout = kQueryTimeout + seconds(1);       // a request waits at most this for a read
constexpr auto kAnswerBound = kQueryTimeout + seconds(1) + milliseconds(300);  // + scheduling slack

// The test timings with the database budget off: on a busy machine a read of 20 ms would make
// --max-db-share (10%) stretch the refresh and the staleness bound past kMaxStaleness, and the
// invariants below check the fixed bound (db_budget_test.cc checks the stretching).
ServeConfig FaultConfig(const std::string& database_url) {
  ServeConfig c = Config(database_url);
  c.extra_args = {"--max-db-share", "100%"};
  return c;
}

std::string PgCtl() {
  const char* ctl = std::getenv("DBOS_DRAIN_TEST_PGCTL");
  const char* priv = std::getenv("DBOS_DRAIN_TEST_PRIVATE_SERVER");
  if (!ctl || !*ctl || !priv || std::string(priv) != "1") {
    FAIL("fault_tests stop and start PostgreSQL: run them on a private server, e.g. "
         "`DBOS_DRAIN_TEST_PRIVATE_SERVER=1 scripts/with-postgres.sh build/test/fault_tests` (ctest does this)");
  }
  return ctl;
}

// Stops the server now and starts it again at the latest when it goes out of scope.
class ServerOutage {
 public:
  ServerOutage() : ctl_(PgCtl()) {}
  ~ServerOutage() {
    if (stopped_) Start();
  }
  void Stop(const std::string& mode = "fast") {
    ProcessResult r = RunProcess({ctl_, "stop", "-m", mode});
    INFO(r.Describe());
    REQUIRE(r.exit_code == 0);
    stopped_ = true;
  }
  // Returns when the server accepts connections again (pg_ctl -w).
  void Start() {
    ProcessResult r = RunProcess({ctl_, "start"});
    stopped_ = false;
    INFO(r.Describe());
    REQUIRE(r.exit_code == 0);
  }

 private:
  std::string ctl_;
  bool stopped_ = false;
};

// SQL on a fresh superuser connection (the server may have restarted since the last one).
void Sql(const TestDatabase& db, const std::string& sql) {
  auto c = db.Connect();
  pqxx::nontransaction tx(*c);
  tx.exec(sql);
}

// Polls one route in the background and keeps every answer with its timing.
class Sampler {
 public:
  struct Sample {
    Clock::time_point sent, received;
    int status = 0;
    bool drained_true = false;
    double age_seconds = -1;
    std::string code;  // error code of a JSON error body
    std::string message;
    std::string as_of;
    int64_t in_flight = -1;
    std::chrono::milliseconds latency() const {
      return std::chrono::duration_cast<std::chrono::milliseconds>(received - sent);
    }
  };

  Sampler(const DrainService& svc, std::string target, milliseconds every = milliseconds(25))
      : svc_(svc), target_(std::move(target)) {
    thread_ = std::thread([this, every] {
      while (!stop_) {
        Sample s;
        s.sent = Clock::now();
        HttpReply r = svc_.Get(target_, WithTimeout(seconds(10)));
        s.received = Clock::now();
        s.status = r.status;
        try {
          auto j = nlohmann::json::parse(r.body);
          s.drained_true = r.status >= 200 && r.status < 300 && j.value("drained", false) == true;
          if (j.contains("age_seconds")) s.age_seconds = j["age_seconds"].get<double>();
          if (j.contains("as_of") && j["as_of"].is_string()) s.as_of = j["as_of"].get<std::string>();
          if (j.contains("in_flight")) s.in_flight = j["in_flight"]["total"].get<int64_t>();
          if (j.contains("error")) {
            s.code = j["error"]["code"].get<std::string>();
            s.message = j["error"]["message"].get<std::string>();
          }
        } catch (...) {
        }
        {
          std::lock_guard<std::mutex> lock(mu_);
          samples_.push_back(s);
        }
        std::this_thread::sleep_for(every);
      }
    });
  }
  ~Sampler() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<Sample> Samples() const {
    std::lock_guard<std::mutex> lock(mu_);
    return samples_;
  }
  // The first sample sent at or after `t` that satisfies `pred`.
  std::optional<Sample> First(Clock::time_point t, const std::function<bool(const Sample&)>& pred) const {
    for (const auto& s : Samples()) {
      if (s.sent >= t && pred(s)) return s;
    }
    return std::nullopt;
  }

 private:
  const DrainService& svc_;
  std::string target_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<Sample> samples_;
  std::thread thread_;
};

std::string Summary(const std::vector<Sampler::Sample>& samples, Clock::time_point t0) {
  std::ostringstream out;
  int shown = 0;
  int last_status = -1;
  std::string last_code;
  for (const auto& s : samples) {
    if (s.status == last_status && s.code == last_code) continue;
    last_status = s.status;
    last_code = s.code;
    out << "  t=" << std::chrono::duration_cast<milliseconds>(s.sent - t0).count() << "ms " << s.status << " "
        << (s.drained_true ? "drained " : "") << s.code << " age=" << s.age_seconds
        << " latency=" << s.latency().count() << "ms\n";
    if (++shown > 60) break;
  }
  return out.str();
}

// Checks that hold through any fault: answers never hang, a not-drained version never reads
// drained, a drained one only from a report younger than the staleness bound.
void CheckInvariants(const Sampler& not_drained, const Sampler& drained, Clock::time_point t0) {
  const auto nd = not_drained.Samples();
  const auto d = drained.Samples();
  INFO("not drained version:\n" << Summary(nd, t0) << "drained version:\n" << Summary(d, t0));
  REQUIRE(!nd.empty());
  REQUIRE(!d.empty());
  int hung = 0, wrong = 0, too_old = 0, no_answer = 0;
  for (const auto& s : nd) {
    if (s.latency() > kAnswerBound) ++hung;
    if (s.drained_true) ++wrong;
    if (s.status == 0) ++no_answer;
  }
  for (const auto& s : d) {
    if (s.latency() > kAnswerBound) ++hung;
    if (s.drained_true && s.age_seconds > kMaxStaleness.count() / 1000.0 + 0.05) ++too_old;
    if (s.status == 0) ++no_answer;
  }
  CHECK(hung == 0);
  CHECK(wrong == 0);
  CHECK(too_old == 0);
  CHECK(no_answer == 0);
}

// v1: one PENDING row (never drained in these tests unless a test finishes it); v2: the latest
// version, nothing in flight (drained).
struct TwoVersions {
  TestDatabase db;
  std::string v1_row;
  explicit TwoVersions(const std::string& fixture = "schema-newest.sql") : db(fixture) {
    db.InsertVersion("v1", AgoMs(std::chrono::hours(2)));
    db.InsertVersion("v2", AgoMs(std::chrono::hours(1)));
    // Started an hour ago (outside the quiet period): once it finishes, v1 is safe to retire.
    v1_row = db.InsertWorkflow(Workflow("PENDING").Version("v1").CreatedAgo(std::chrono::hours(1)));
    db.InsertWorkflow(Workflow("SUCCESS").Version("v2"));
  }
};

std::unique_ptr<BackgroundProcess> StartWait(const std::string& url, const std::vector<std::string>& versions,
                                             const std::string& timeout = "2m") {
  std::vector<std::string> argv{DrainBinary(), "wait"};
  argv.insert(argv.end(), versions.begin(), versions.end());
  for (const char* a : {"--interval", "200ms", "--query-timeout", "1s", "--connect-timeout", "1s", "--timeout"}) argv.push_back(a);
  argv.push_back(timeout);
  argv.push_back("--database-url");
  argv.push_back(url);
  return std::make_unique<BackgroundProcess>(argv);
}

bool Fresh200(const Sampler::Sample& s) { return s.status == 200 && s.age_seconds >= 0 && s.age_seconds < 0.5; }

}  // namespace

TEST_CASE("fault: database stopped while serving; back without a restart", "[fault][stop]") {
  TwoVersions fx;
  DrainService svc(FaultConfig(fx.db.url()));
  auto wait = StartWait(fx.db.url(), {"v1"});
  REQUIRE(wait->WaitForOutput(" 1 in flight (", seconds(10)));
  Sampler v1(svc, "/v1/versions/v1"), v2(svc, "/v1/versions/v2");
  std::this_thread::sleep_for(milliseconds(300));

  ServerOutage outage;
  const auto t_stop = Clock::now();
  outage.Stop();
  std::this_thread::sleep_for(kMaxStaleness + kWaitTimeout + milliseconds(500));

  // Down: 503 with a clear error, in time; the process itself stays healthy; wait keeps waiting.
  auto err = v2.First(t_stop, [](const Sampler::Sample& s) { return s.status == 503; });
  REQUIRE(err);
  CHECK(err->code == "database_unavailable");
  CHECK_THAT(err->message, Catch::Contains("DBOS system database"));
  CHECK(err->sent - t_stop < kMaxStaleness + kWaitTimeout);
  CHECK(svc.Get("/healthz").status == 200);
  CHECK(wait->Running());
  CHECK_THAT(wait->StdoutSoFar(), Catch::Contains("database error, retrying"));

  const auto t_up = Clock::now();
  outage.Start();
  const auto accepting = Clock::now();
  HttpReply back = PollUntil(svc, "/v1/versions/v2", IsDrainedTrue, seconds(10), milliseconds(20));
  INFO(back.Describe());
  CHECK(IsDrainedTrue(back));
  CHECK(Since(accepting) < milliseconds(2000));  // within 2 s of the database accepting connections
  CHECK(WaitUntil([&] { return v2.First(t_up, Fresh200).has_value(); }, seconds(3)));  // the sampler too
  v1.Stop();
  v2.Stop();
  CheckInvariants(v1, v2, t_stop);

  // The work finishes: now, and only now, v1 drains and wait exits 0.
  CHECK(wait->Running());
  Sql(fx.db, "UPDATE dbos.workflow_status SET status = 'SUCCESS' WHERE workflow_uuid = " + TestDatabase::Literal(fx.v1_row));
  ProcessResult w = wait->Wait(seconds(10));
  INFO(w.Describe());
  CHECK(w.exit_code == 0);
  CHECK(IsDrainedTrue(PollUntil(svc, "/v1/versions/v1", IsDrainedTrue, seconds(3))));

  // One log line per state change, not one per failed refresh.
  std::vector<nlohmann::json> lines = svc.LogLines();
  int unreadable = 0, readable = 0;
  for (const auto& l : lines) {
    if (l.at("msg") == "database unreadable") ++unreadable;
    if (l.at("msg") == "database readable") ++readable;
  }
  INFO(svc.Stderr());
  CHECK(unreadable >= 1);
  CHECK(unreadable <= 3);
  CHECK(readable == unreadable + 1);
}

TEST_CASE("fault: started while the database is down; ready once it answers", "[fault][stop]") {
  TwoVersions fx;
  ServerOutage outage;
  outage.Stop();
  ServeConfig cfg = FaultConfig(fx.db.url());
  cfg.wait_ready = false;
  DrainService svc(cfg);
  CHECK(svc.Get("/healthz").status == 200);
  HttpReply ready = svc.Get("/readyz");
  INFO(ready.Describe());
  CHECK(IsJsonError(ready, 503, "database_unavailable"));
  HttpReply v2 = svc.Get("/v1/versions/v2");
  INFO(v2.Describe());
  CHECK(IsJsonError(v2, 503, "database_unavailable"));
  CHECK(v2.elapsed < kAnswerBound);
  auto wait = StartWait(fx.db.url(), {"v2"}, "2s");

  outage.Start();
  const auto accepting = Clock::now();
  HttpReply r = PollUntil(svc, "/readyz", [](const HttpReply& r) { return r.status == 200; }, seconds(10), milliseconds(20));
  INFO(r.Describe());
  CHECK(r.status == 200);
  CHECK(Since(accepting) < milliseconds(2000));
  CHECK(IsDrainedTrue(svc.Get("/v1/versions/v2")));
  ProcessResult w = wait->Wait(seconds(10));
  INFO(w.Describe());  // it may have seen the database come back within its 2 s
  CHECK((w.exit_code == 0 || w.exit_code == 1));
  if (w.exit_code == 0) CHECK_THAT(w.out, Catch::Contains("all drained: v2"));
}

TEST_CASE("staleness bound: a stopped database turns answers into 503 within --max-staleness", "[fault][staleness]") {
  TwoVersions fx;
  ServeConfig cfg = FaultConfig(fx.db.url());
  cfg.extra_args.insert(cfg.extra_args.end(), {"--max-staleness", "1s"});
  DrainService svc(cfg);
  Sampler v2(svc, "/v1/versions/v2", milliseconds(10));
  std::this_thread::sleep_for(milliseconds(300));

  ServerOutage outage;
  const auto t_stop = Clock::now();
  outage.Stop("immediate");
  std::this_thread::sleep_for(milliseconds(2500));
  v2.Stop();
  const auto samples = v2.Samples();
  INFO(Summary(samples, t_stop));

  std::optional<Clock::time_point> last_drained, first_503;
  double max_age = 0;
  for (const auto& s : samples) {
    if (s.drained_true) {
      last_drained = s.received;
      max_age = std::max(max_age, s.age_seconds);
    }
    if (s.status == 503 && !first_503 && s.sent >= t_stop) first_503 = s.received;
  }
  REQUIRE(last_drained);
  REQUIRE(first_503);
  CHECK(max_age <= 1.05);                                // never a report older than the bound
  CHECK(*last_drained - t_stop < milliseconds(1300));    // no cached drained:true after it
  CHECK(*first_503 - t_stop < milliseconds(1300));       // 503 within the bound (+ slack)
  int drained_after_503 = 0;
  for (const auto& s : samples) {
    if (s.sent > *first_503 && s.drained_true) ++drained_after_503;
  }
  CHECK(drained_after_503 == 0);
}

TEST_CASE("fault: the service's connection is killed (pg_terminate_backend)", "[fault][terminate]") {
  TwoVersions fx;
  DrainService svc(FaultConfig(fx.db.url()));
  auto wait = StartWait(fx.db.url(), {"v1"});
  REQUIRE(wait->WaitForOutput(" 1 in flight (", seconds(10)));
  Sampler v1(svc, "/v1/versions/v1"), v2(svc, "/v1/versions/v2");
  std::this_thread::sleep_for(milliseconds(300));

  const auto t0 = Clock::now();
  int killed = 0;
  for (int i = 0; i < 6; ++i) {
    auto c = fx.db.Connect();
    pqxx::nontransaction tx(*c);
    auto r = tx.exec("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                     "WHERE datname = current_database() AND application_name = 'dbos-drain'");
    killed += r[0][0].as<int>();
    std::this_thread::sleep_for(milliseconds(300));
  }
  const auto t_end = Clock::now();
  CHECK(killed >= 6);
  auto fresh_drained = [](const Sampler::Sample& s) { return s.drained_true && s.age_seconds < 0.5; };
  REQUIRE(WaitUntil([&] { return v2.First(t_end, fresh_drained).has_value(); }, seconds(3)));
  v1.Stop();
  v2.Stop();
  CheckInvariants(v1, v2, t0);
  auto back = v2.First(t_end, fresh_drained);
  REQUIRE(back);
  CHECK(back->received - t_end < milliseconds(2000));
  CHECK(wait->Running());
  // The service is connected again, as dbos-drain.
  auto sessions = fx.db.Query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                              "AND application_name = 'dbos-drain'");
  CHECK(sessions[0][0].as<int>() >= 1);
  INFO(svc.Stderr());
  CHECK_THAT(svc.Stderr(), Catch::Contains("database_unavailable"));
  Sql(fx.db, "UPDATE dbos.workflow_status SET status = 'SUCCESS' WHERE workflow_uuid = " + TestDatabase::Literal(fx.v1_row));
  ProcessResult w = wait->Wait(seconds(10));
  INFO(w.Describe());
  CHECK(w.exit_code == 0);
}

TEST_CASE("fault: a lock blocks the report query: 503 within query timeout + 1 s, never a hang", "[fault][lock]") {
  TwoVersions fx;
  DrainService svc(FaultConfig(fx.db.url()));
  auto wait = StartWait(fx.db.url(), {"v1", "v2"});
  REQUIRE(wait->WaitForOutput(" 1 in flight (", seconds(10)));
  Sampler v1(svc, "/v1/versions/v1"), v2(svc, "/v1/versions/v2"), all(svc, "/v1/versions", milliseconds(100));
  Sampler health(svc, "/healthz", milliseconds(100)), ready(svc, "/readyz", milliseconds(100));
  std::this_thread::sleep_for(milliseconds(300));

  TableLock lock(fx.db, "workflow_status");
  const auto t_lock = Clock::now();
  std::this_thread::sleep_for(milliseconds(4500));

  auto err = v2.First(t_lock, [](const Sampler::Sample& s) { return s.status == 503; });
  REQUIRE(err);
  CHECK(err->code == "query_timeout");
  CHECK_THAT(err->message, Catch::Contains("timed out"));
  CHECK(err->received - t_lock < kMaxStaleness + kWaitTimeout + milliseconds(300));
  CHECK(wait->Running());
  CHECK_THAT(wait->StdoutSoFar(), Catch::Contains("timed out"));

  lock.Release();
  const auto t_free = Clock::now();
  REQUIRE(WaitUntil([&] { return v2.First(t_free, Fresh200).has_value(); }, seconds(4)));
  CHECK(v2.First(t_free, Fresh200)->received - t_free < milliseconds(2000));
  v1.Stop();
  v2.Stop();
  all.Stop();
  CheckInvariants(v1, v2, t_lock);
  for (const auto& s : all.Samples()) CHECK(s.latency() < kAnswerBound);
  // The probes never wait on the hung database: the kubelet gives them 1 s by default, and a
  // read may take query timeout + 1 s. Readiness stays latched (the database answered before).
  health.Stop();
  ready.Stop();
  for (const auto& s : health.Samples()) {
    CHECK(s.status == 200);
    CHECK(s.latency() < milliseconds(300));
  }
  for (const auto& s : ready.Samples()) {
    INFO("readyz " << s.status << " " << s.code << " after " << s.latency().count() << " ms");
    CHECK(s.status == 200);
    CHECK(s.latency() < milliseconds(300));
  }
  CHECK(wait->Running());  // v1 still has work
  wait->Signal(SIGTERM);
  ProcessResult w = wait->Wait(seconds(5));
  CHECK(w.exit_code != 0);
}

TEST_CASE("fault: a role without the needed privileges", "[fault][privilege]") {
  TwoVersions fx;
  const std::string role = fx.db.CreateRole("dd_nopriv", "pw", /*select=*/false);
  const std::string url = fx.db.UrlAs(role, "pw");
  ServeConfig cfg = FaultConfig(url);
  cfg.wait_ready = false;
  DrainService svc(cfg);

  HttpReply v2 = PollUntil(svc, "/v1/versions/v2", [](const HttpReply& r) { return r.status == 503; }, seconds(5));
  INFO(v2.Describe());
  REQUIRE(IsJsonError(v2, 503, "permission_denied"));
  const std::string message = v2.Json().at("error").at("message").get<std::string>();
  CHECK_THAT(message, Catch::Contains("permission denied"));
  CHECK_THAT(message, Catch::Contains("readonly-role.sql"));
  CHECK_THAT(message, !Catch::Contains("pw@"));
  CHECK(IsJsonError(svc.Get("/readyz"), 503, "permission_denied"));
  ProcessResult w = dbos_drain::testing::RunDrain(
      {"wait", "v2", "--interval", "200ms", "--timeout", "1s", "--database-url", url});
  INFO(w.Describe());
  CHECK(w.exit_code == 1);
  CHECK_THAT(w.out, Catch::Contains("permission denied"));

  // Granted: served without a restart.
  fx.db.Exec("GRANT SELECT ON ALL TABLES IN SCHEMA dbos TO " + TestDatabase::Ident(role));
  const auto granted = Clock::now();
  HttpReply ok = PollUntil(svc, "/v1/versions/v2", IsDrainedTrue, seconds(5), milliseconds(20));
  INFO(ok.Describe());
  CHECK(IsDrainedTrue(ok));
  CHECK(Since(granted) < milliseconds(2000));

  // Revoked while running: the drained answer turns into 503 within the staleness bound.
  Sampler s1(svc, "/v1/versions/v1"), s2(svc, "/v1/versions/v2");
  std::this_thread::sleep_for(milliseconds(200));
  fx.db.Exec("REVOKE SELECT ON ALL TABLES IN SCHEMA dbos FROM " + TestDatabase::Ident(role));
  const auto revoked = Clock::now();
  std::this_thread::sleep_for(kMaxStaleness + kWaitTimeout);
  s1.Stop();
  s2.Stop();
  CheckInvariants(s1, s2, revoked);
  auto err = s2.First(revoked, [](const Sampler::Sample& s) { return s.status == 503; });
  REQUIRE(err);
  CHECK(err->code == "permission_denied");
  CHECK(err->received - revoked < kMaxStaleness + milliseconds(500));
}

TEST_CASE("fault: a schema that is not DBOS's", "[fault][schema]") {
  TestDatabase db("");
  db.Exec("CREATE SCHEMA dbos; CREATE TABLE dbos.workflow_status (id int PRIMARY KEY, status text)");
  ServeConfig cfg = FaultConfig(db.url());
  cfg.wait_ready = false;
  DrainService svc(cfg);

  HttpReply r = PollUntil(svc, "/v1/versions/v1", [](const HttpReply& r) { return r.status == 503; }, seconds(5));
  INFO(r.Describe());
  REQUIRE(IsJsonError(r, 503, "schema_unrecognized"));
  CHECK_THAT(r.Json().at("error").at("message").get<std::string>(), Catch::Contains("has no column"));
  CHECK(IsJsonError(svc.Get("/readyz"), 503, "schema_unrecognized"));
  CHECK(IsJsonError(svc.Get("/v1/versions"), 503, "schema_unrecognized"));
  ProcessResult w = dbos_drain::testing::RunDrain(
      {"wait", "v1", "--interval", "200ms", "--timeout", "1s", "--unknown-version=drained", "--database-url", db.url()});
  INFO(w.Describe());
  CHECK(w.exit_code == 1);  // not even --unknown-version=drained makes an unreadable database drained
  CHECK_THAT(w.out, Catch::Contains("has no column"));

  SECTION("a schema name that does not exist") {
    ServeConfig other = FaultConfig(db.url());
    other.wait_ready = false;
    other.extra_args.insert(other.extra_args.end(), {"--schema", "not_dbos", "--unknown-version", "drained"});
    DrainService svc2(other);
    HttpReply nf = PollUntil(svc2, "/v1/versions/v1", [](const HttpReply& r) { return r.status == 503; }, seconds(5));
    INFO(nf.Describe());
    CHECK(IsJsonError(nf, 503, "schema_not_found"));
    CHECK_THAT(nf.Json().at("error").at("message").get<std::string>(), Catch::Contains("--schema"));
  }
  SECTION("DBOS creates its real tables: served without a restart") {
    db.Exec("DROP SCHEMA dbos CASCADE");
    db.LoadSqlFile(dbos_drain::testing::FixturePath("schema-newest.sql"), "dbos");
    db.InsertWorkflow(Workflow("PENDING").Version("v1"));
    const auto fixed = Clock::now();
    HttpReply ok = PollUntil(svc, "/v1/versions/v1", [](const HttpReply& r) { return r.status == 200; }, seconds(5));
    INFO(ok.Describe());
    CHECK(ok.status == 200);
    CHECK(ok.Json().at("drained") == false);
    CHECK(Since(fixed) < milliseconds(2000));
  }
}

TEST_CASE("fault: the table is dropped while serving, then recreated", "[fault][schema]") {
  TwoVersions fx;
  DrainService svc(FaultConfig(fx.db.url()));
  auto wait = StartWait(fx.db.url(), {"v1"});
  REQUIRE(wait->WaitForOutput(" 1 in flight (", seconds(10)));
  Sampler v1(svc, "/v1/versions/v1"), v2(svc, "/v1/versions/v2");
  std::this_thread::sleep_for(milliseconds(300));

  fx.db.Exec("CREATE TABLE dbos.ws_template (LIKE dbos.workflow_status INCLUDING ALL);"
             "CREATE TABLE dbos.ws_rows AS TABLE dbos.workflow_status");
  fx.db.Exec("DROP TABLE dbos.workflow_status");
  const auto t_drop = Clock::now();
  std::this_thread::sleep_for(kMaxStaleness + kWaitTimeout + milliseconds(300));
  auto err = v2.First(t_drop, [](const Sampler::Sample& s) { return s.status == 503; });
  REQUIRE(err);
  CHECK((err->code == "schema_not_found" || err->code == "schema_unrecognized"));
  CHECK_THAT(err->message, Catch::Contains("workflow_status"));
  CHECK(err->received - t_drop < kMaxStaleness + kWaitTimeout);
  CHECK(wait->Running());

  fx.db.Exec("CREATE TABLE dbos.workflow_status (LIKE dbos.ws_template INCLUDING ALL);"
             "INSERT INTO dbos.workflow_status SELECT * FROM dbos.ws_rows");
  const auto t_back = Clock::now();
  REQUIRE(WaitUntil([&] { return v2.First(t_back, Fresh200).has_value(); }, seconds(4)));
  CHECK(v2.First(t_back, Fresh200)->received - t_back < milliseconds(2000));
  v1.Stop();
  v2.Stop();
  CheckInvariants(v1, v2, t_drop);
  CHECK(wait->Running());
}

TEST_CASE("fault: the database is restored to an older state mid-run; the verdict follows it", "[fault][restore]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(std::chrono::hours(2)));
  db.InsertVersion("v2", AgoMs(std::chrono::hours(1)));
  db.InsertWorkflow(Workflow("PENDING").Version("v1"));  // state A: v1 1 in flight, v2 drained
  TempDir dir;
  const std::string dump_a = dir.File("a.dump"), dump_b = dir.File("b.dump");
  auto dump = [&](const std::string& file) {
    ProcessResult r = RunProcess({"pg_dump", "-Fc", "-f", file, "-d", db.url()});
    INFO(r.Describe());
    REQUIRE(r.exit_code == 0);
  };
  auto restore = [&](const std::string& file) {
    {
      pqxx::connection admin(AdminUrl());
      pqxx::nontransaction tx(admin);
      tx.exec("DROP DATABASE " + TestDatabase::Ident(db.name()) + " WITH (FORCE)");
      tx.exec("CREATE DATABASE " + TestDatabase::Ident(db.name()));
    }
    ProcessResult r = RunProcess({"pg_restore", "--no-owner", "-d", db.url(), file});
    INFO(r.Describe());
    REQUIRE(r.exit_code == 0);
  };
  dump(dump_a);
  Sql(db, "INSERT INTO dbos.workflow_status (workflow_uuid, status, name, application_version, executor_id) VALUES "
          "('b1', 'PENDING', 'w', 'v1', 'e'), ('b2', 'ENQUEUED', 'w', 'v1', 'e'), ('b3', 'PENDING', 'w', 'v2', 'e')");
  dump(dump_b);  // state B: v1 3 in flight, v2 1

  DrainService svc(FaultConfig(db.url()));
  auto wait = StartWait(db.url(), {"v1"});
  auto counts = [&](const std::string& version, int64_t total) {
    return [version, total](const HttpReply& r) {
      return r.status == 200 && r.Json().at("version") == version && r.Json().at("in_flight").at("total") == total;
    };
  };
  REQUIRE(PollUntil(svc, "/v1/versions/v1", counts("v1", 3), seconds(3)).status == 200);
  REQUIRE(svc.Get("/v1/versions/v2").Json().at("drained") == false);
  Sampler v1(svc, "/v1/versions/v1");

  // Restored to A, with fewer rows in flight: the answers follow the database, not the past.
  const auto restoring = Clock::now();
  restore(dump_a);
  const auto restored_a = Clock::now();
  HttpReply a1 = PollUntil(svc, "/v1/versions/v1", counts("v1", 1), seconds(5), milliseconds(20));
  INFO(a1.Describe());
  CHECK(counts("v1", 1)(a1));
  CHECK(Since(restored_a) < milliseconds(2000));
  HttpReply a2 = PollUntil(svc, "/v1/versions/v2", IsDrainedTrue, seconds(3));
  INFO(a2.Describe());
  CHECK(IsDrainedTrue(a2));

  // And back to B: v2 is not drained again; nothing remembered of "drained" outlives it.
  restore(dump_b);
  const auto restored_b = Clock::now();
  HttpReply b2 = PollUntil(svc, "/v1/versions/v2", [](const HttpReply& r) {
    return r.status == 200 && r.Json().at("drained") == false;
  }, seconds(5), milliseconds(20));
  INFO(b2.Describe());
  CHECK(b2.status == 200);
  CHECK(b2.Json().at("in_flight").at("total") == 1);
  CHECK(Since(restored_b) < milliseconds(2000));
  CHECK(counts("v1", 3)(svc.Get("/v1/versions/v1")));

  v1.Stop();
  // The sampler kept asking once the restores began, so the checks below cover them.
  REQUIRE(v1.First(restoring, [](const Sampler::Sample&) { return true; }));
  for (const auto& s : v1.Samples()) {
    CHECK_FALSE(s.drained_true);  // v1 has work in every state
    CHECK(s.latency() < kAnswerBound);
  }
  CHECK(wait->Running());
}

TEST_CASE("fault: a version known only from history is forgotten when the database is restored without it",
          "[fault][restore]") {
  // An older schema (no application_versions): a version is known only from its finished rows,
  // found by a probe that is repeated at most every 30 s. A restore must not leave that memory
  // standing: the version becomes unknown (not drained) again as soon as the database says so.
  TestDatabase db("schema-ts-3x.sql");
  TempDir dir;
  const std::string before = dir.File("before.dump");
  ProcessResult d = RunProcess({"pg_dump", "-Fc", "-f", before, "-d", db.url()});
  REQUIRE(d.exit_code == 0);
  db.InsertWorkflow(Workflow("SUCCESS").Version("vh"));
  DrainService svc(FaultConfig(db.url()));
  HttpReply known = PollUntil(svc, "/v1/versions/vh", IsDrainedTrue, seconds(5));
  INFO(known.Describe());
  REQUIRE(IsDrainedTrue(known));
  REQUIRE(known.Json().at("known") == true);

  {
    pqxx::connection admin(AdminUrl());
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE " + TestDatabase::Ident(db.name()) + " WITH (FORCE)");
    tx.exec("CREATE DATABASE " + TestDatabase::Ident(db.name()));
  }
  ProcessResult r = RunProcess({"pg_restore", "--no-owner", "-d", db.url(), before});
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  const auto restored = Clock::now();
  HttpReply unknown = PollUntil(svc, "/v1/versions/vh", [](const HttpReply& r) {
    return r.status == 200 && r.Json().at("known") == false;
  }, seconds(10), milliseconds(20));
  INFO(unknown.Describe());
  CHECK(unknown.status == 200);
  CHECK(unknown.Json().at("known") == false);
  CHECK(unknown.Json().at("drained") == false);
  CHECK(Since(restored) < milliseconds(2000));
}

TEST_CASE("fault: SIGTERM while requests wait on a hung database: they are answered, exit 0 within 5 s",
          "[fault][signals]") {
  TwoVersions fx;
  ServeConfig cfg = FaultConfig(fx.db.url());
  cfg.query_timeout = "2s";  // requests wait up to 3 s for a read
  DrainService svc(cfg);
  REQUIRE(svc.Get("/v1/versions/v1").status == 200);
  TableLock lock(fx.db, "workflow_status");
  std::this_thread::sleep_for(milliseconds(300));  // the report is stale: requests wait for a read

  std::vector<HttpReply> replies(4);
  std::vector<std::thread> clients;
  for (size_t i = 0; i < replies.size(); ++i) {
    clients.emplace_back([&, i] { replies[i] = svc.Get(i % 2 ? "/v1/versions/v1" : "/v1/versions", WithTimeout(seconds(10))); });
  }
  std::this_thread::sleep_for(milliseconds(300));
  const auto t0 = Clock::now();
  svc.process().Signal(SIGTERM);
  ProcessResult r = svc.process().Wait(seconds(10));
  const auto took = Since(t0);
  for (auto& c : clients) c.join();
  INFO(r.Describe());
  CHECK(r.exit_code == 0);
  CHECK(took < milliseconds(5000));
  for (const auto& reply : replies) {
    INFO(reply.Describe());
    CHECK(reply.status != 0);  // a complete HTTP answer, not a cut connection
    CHECK_FALSE(IsDrainedTrue(reply));
  }
  lock.Release();
}
