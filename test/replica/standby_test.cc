// Issue 15: dbos-drain on a real streaming hot standby (scripts/with-postgres-standby.sh starts a
// primary and a `pg_basebackup -R` standby of it). Caught up: the standby's verdicts are the
// primary's. Replay paused with new work on the primary, or the primary stopped: never "drained"
// once past --max-replica-lag (CLI exit 1, HTTP drained false, /readyz, /metrics and the log
// saying why). Replay resumed: the new work is seen. The read-only role of examples/sql sees
// only the WAL receiver's pid and still gets a report.
//
// Run through the standby script (CTest does): it exports DBOS_DRAIN_TEST_STANDBY_URL etc.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <thread>

#include <pqxx/pqxx>

#include "drain_service.h"
#include "system_database.h"
#include "test_database.h"

using namespace dbos_drain::servicetest;
using dbos_drain::testing::AgoMs;
using dbos_drain::testing::ProcessResult;
using dbos_drain::testing::RunDrain;
using dbos_drain::testing::RunProcess;
using dbos_drain::testing::SourceDir;
using dbos_drain::testing::TestDatabase;
using dbos_drain::testing::WaitUntil;
using dbos_drain::testing::Workflow;
using nlohmann::json;

namespace {

constexpr milliseconds kMaxLag(2000);  // --max-replica-lag in these tests

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) FAIL(std::string(name) + " is not set: run through scripts/with-postgres-standby.sh (ctest does)");
  return v;
}

// `db` as seen on the standby (the same database, replicated).
std::string StandbyUrl(const TestDatabase& db, const std::string& user = "postgres", const std::string& password = "") {
  return "postgresql://" + user + (password.empty() ? "" : ":" + password) + "@127.0.0.1:" +
         Env("DBOS_DRAIN_TEST_STANDBY_PGPORT") + "/" + db.name();
}

void StandbyExec(const TestDatabase& db, const std::string& sql) {
  pqxx::connection c(StandbyUrl(db));
  pqxx::nontransaction tx(c);
  tx.exec(sql);
}

struct Status {
  int exit_code = -1;
  json doc;
  std::string describe;
  const json* Version(const std::string& v) const {
    if (!doc.is_object()) return nullptr;
    for (const auto& e : doc["versions"]) {
      if (e["version"] == v) return &e;
    }
    return nullptr;
  }
};

Status StatusOf(const std::string& url, const std::vector<std::string>& versions = {}) {
  std::vector<std::string> args{"status", "--json", "--database-url", url, "--max-replica-lag", "2s",
                                "--query-timeout", "2s", "--connect-timeout", "2s"};
  args.insert(args.end(), versions.begin(), versions.end());
  ProcessResult r = RunDrain(args);
  Status s;
  s.exit_code = r.exit_code;
  s.describe = r.Describe();
  try {
    s.doc = json::parse(r.out);
  } catch (const std::exception&) {
  }
  return s;
}

// The verdict of every version, for comparing primary and standby.
std::map<std::string, bool> Verdicts(const Status& s) {
  std::map<std::string, bool> out;
  if (!s.doc.is_object()) return out;
  for (const auto& e : s.doc["versions"]) out[e["version"].get<std::string>()] = e["drained"].get<bool>();
  return out;
}

// safe_to_retire of every version: the verdict the gates follow.
std::map<std::string, bool> SafeToRetire(const Status& s) {
  std::map<std::string, bool> out;
  if (!s.doc.is_object()) return out;
  for (const auto& e : s.doc["versions"]) out[e["version"].get<std::string>()] = e["safe_to_retire"].get<bool>();
  return out;
}

// Waits until the standby has replayed everything the primary has now. The insert position, not
// the write position: with synchronous_commit = off (with-postgres.sh) a commit may still be in
// the WAL buffers.
void WaitCaughtUp(const TestDatabase& db) {
  std::string lsn = db.Query("SELECT pg_current_wal_insert_lsn()::text")[0][0].as<std::string>();
  bool ok = WaitUntil(
      [&] {
        try {
          pqxx::connection c(StandbyUrl(db));
          pqxx::nontransaction tx(c);
          return tx.exec("SELECT pg_last_wal_replay_lsn() >= '" + lsn + "'::pg_lsn")[0][0].as<bool>();
        } catch (const std::exception&) {
          return false;  // the database may not be on the standby yet
        }
      },
      seconds(20), milliseconds(50));
  REQUIRE(ok);
}

// A database with v1 drained and safe to retire (one workflow that started and finished an hour
// ago, outside the quiet period), v2 the latest with one pending.
struct Fixture {
  TestDatabase db;
  Fixture() {
    db.InsertVersion("v1", AgoMs(std::chrono::hours(2)));
    db.InsertVersion("v2", AgoMs(std::chrono::hours(1)));
    db.InsertWorkflow(Workflow("SUCCESS").Version("v1").CreatedAgo(std::chrono::hours(1)).CompletedAgo(std::chrono::hours(1)));
    db.InsertWorkflow(Workflow("PENDING").Version("v2"));
    WaitCaughtUp(db);
  }
};

}  // namespace

TEST_CASE("standby 1: caught up, the standby's verdicts are the primary's", "[replica]") {
  Fixture fx;
  Status primary = StatusOf(fx.db.url(), {"v1"});
  Status standby = StatusOf(StandbyUrl(fx.db), {"v1"});
  INFO(primary.describe << "\n" << standby.describe);
  CHECK(primary.exit_code == 0);
  CHECK(standby.exit_code == 0);
  CHECK(primary.doc["standby"] == false);
  CHECK(primary.doc["replica"].is_null());
  CHECK(standby.doc["standby"] == true);
  CHECK(standby.doc["replica"]["state"] == "caught_up");
  CHECK(standby.doc["replica"]["lag_seconds"] == 0.0);
  CHECK(standby.doc["replica"]["within_bound"] == true);
  CHECK(standby.doc["replica"]["receiver_status"] == "streaming");
  CHECK(Verdicts(primary) == Verdicts(standby));
  CHECK(Verdicts(standby) == std::map<std::string, bool>{{"v1", true}});
  CHECK(SafeToRetire(primary) == SafeToRetire(standby));
  CHECK(SafeToRetire(standby) == std::map<std::string, bool>{{"v1", true}});

  // Idle for longer than the bound: still caught up (an idle primary sends nothing new).
  std::this_thread::sleep_for(kMaxLag + milliseconds(500));
  standby = StatusOf(StandbyUrl(fx.db));
  INFO(standby.describe);
  CHECK(standby.exit_code == 0);
  CHECK(standby.doc["replica"]["state"] == "caught_up");
  CHECK(Verdicts(StatusOf(fx.db.url())) == Verdicts(standby));
}

TEST_CASE("standby 2: the read-only role sees only the WAL receiver's pid and still gets a verdict", "[replica]") {
  Fixture fx;
  const std::string role = "dd_replica_ro_" + std::to_string(getpid());
  const std::string password = "ro-pass-" + std::to_string(getpid());
  ProcessResult made = RunProcess({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "schema=dbos", "-v", "role=" + role,
                                   "-v", "password=" + password, "-f", SourceDir() + "/examples/sql/readonly-role.sql",
                                   "-d", fx.db.url()});
  INFO(made.Describe());
  REQUIRE(made.exit_code == 0);
  WaitCaughtUp(fx.db);
  Status s = StatusOf(StandbyUrl(fx.db, role, password), {"v1"});
  INFO(s.describe);
  CHECK(s.exit_code == 0);
  CHECK(s.doc["standby"] == true);
  CHECK(s.doc["replica"]["receiver_running"] == true);
  CHECK(s.doc["replica"]["receiver_status"].is_null());           // hidden without pg_read_all_stats
  CHECK(s.doc["replica"]["receiver_last_message_at"].is_null());  // likewise
  CHECK(s.doc["replica"]["state"] == "caught_up");
  CHECK(s.doc["replica"]["replay_lsn"].is_string());
  fx.db.Exec("DROP OWNED BY " + role + "; DROP ROLE " + role);
}

TEST_CASE("standby 3: replay paused with new work: never drained past the bound; resumed: the work is seen",
          "[replica]") {
  Fixture fx;
  const std::string standby_url = StandbyUrl(fx.db);
  REQUIRE(StatusOf(standby_url, {"v1"}).exit_code == 0);
  ServeConfig config = Config(standby_url);
  config.extra_args = {"--max-replica-lag", "2s"};
  DrainService svc(config);
  REQUIRE(IsDrainedTrue(svc.Get("/v1/versions/v1")));

  StandbyExec(fx.db, "SELECT pg_wal_replay_pause()");
  REQUIRE(WaitUntil(
      [&] {
        pqxx::connection c(standby_url);
        pqxx::nontransaction tx(c);
        return tx.exec("SELECT pg_get_wal_replay_pause_state()")[0][0].as<std::string>() == "paused";
      },
      seconds(5)));
  // New work for v1 on the primary: v1 is no longer drained there.
  fx.db.InsertWorkflow(Workflow("ENQUEUED").Version("v1").Queue("tasks"));
  const auto committed = Clock::now();
  CHECK(StatusOf(fx.db.url(), {"v1"}).exit_code == 1);

  // The standby cannot see it. Once past the bound, never drained: CLI, HTTP, and both say why.
  int past_bound = 0;
  while (Since(committed) < kMaxLag + seconds(3)) {
    const auto t = Since(committed);
    Status s = StatusOf(standby_url, {"v1"});
    HttpReply r = svc.Get("/v1/versions/v1");
    if (t > kMaxLag) {
      ++past_bound;
      INFO(s.describe << "\n" << r.Describe());
      CHECK(s.exit_code == 1);
      const json* v1 = s.Version("v1");
      REQUIRE(v1);
      CHECK((*v1)["drained"] == false);
      CHECK_THAT((*v1)["reason"].get<std::string>(), Catch::Contains("exceeds --max-replica-lag 2s"));
      CHECK_THAT((*v1)["reason"].get<std::string>(), Catch::Contains("replay is paused"));
      CHECK(s.doc["replica"]["within_bound"] == false);
      CHECK(s.doc["replica"]["replay_paused"] == true);
      CHECK(s.doc["replica"]["lag_seconds"].get<double>() > 2.0);
      CHECK(r.status == 200);
      CHECK_FALSE(IsDrainedTrue(r));
    }
    std::this_thread::sleep_for(milliseconds(200));
  }
  CHECK(past_bound >= 3);
  // /readyz stays ready and says why; /metrics has the gauges; the log has one line.
  HttpReply ready = svc.Get("/readyz");
  INFO(ready.Describe());
  CHECK(ready.status == 200);
  CHECK(ready.Json()["standby"] == true);
  CHECK(ready.Json()["replica"]["within_bound"] == false);
  CHECK_THAT(ready.Json()["replica"]["reason"].get<std::string>(), Catch::Contains("replay is paused"));
  HttpReply metrics = svc.Get("/metrics");
  CHECK_THAT(metrics.body, Catch::Contains("\ndbos_drain_database_standby 1\n"));
  CHECK_THAT(metrics.body, Catch::Contains("\ndbos_drain_max_replica_lag_seconds 2\n"));
  CHECK_THAT(metrics.body, Catch::Contains("\ndbos_drain_replica_lag_seconds "));
  CHECK_THAT(metrics.body, Catch::Contains("\ndbos_drain_version_drained{version=\"v1\"} 0\n"));
  bool logged = false;
  for (const auto& line : svc.LogLines()) {
    if (line.value("msg", "") == "replica too far behind: no version is reported drained") {
      logged = true;
      CHECK(line["state"] == "replay_paused");
      CHECK_THAT(line["reason"].get<std::string>(), Catch::Contains("replay is paused"));
    }
  }
  CHECK(logged);

  // Resumed: the new work is seen, the replica is caught up again.
  StandbyExec(fx.db, "SELECT pg_wal_replay_resume()");
  Status seen;
  CHECK(WaitUntil(
      [&] {
        seen = StatusOf(standby_url, {"v1"});
        const json* v1 = seen.Version("v1");
        return v1 && (*v1)["in_flight"]["enqueued"] == 1 && seen.doc["replica"]["state"] == "caught_up";
      },
      seconds(10), milliseconds(100)));
  INFO(seen.describe);
  CHECK(seen.exit_code == 1);
  CHECK(seen.Version("v1")->at("reason").is_null());  // not drained because of the work, not the lag
  CHECK(Verdicts(seen) == Verdicts(StatusOf(fx.db.url(), {"v1"})));
  CHECK(PollUntil(svc, "/readyz", [](const HttpReply& r) { return r.status == 200 && r.Json()["replica"]["within_bound"] == true; },
                  seconds(5)).status == 200);
}

TEST_CASE("standby 4: the primary stopped: never drained past the bound; back once it returns", "[replica]") {
  Fixture fx;
  const std::string standby_url = StandbyUrl(fx.db);
  REQUIRE(StatusOf(standby_url, {"v1"}).exit_code == 0);
  const std::string pgctl = Env("DBOS_DRAIN_TEST_PGCTL");

  const auto stopping = Clock::now();
  ProcessResult stopped = RunProcess({pgctl, "stop", "-m", "fast"});
  INFO(stopped.Describe());
  REQUIRE(stopped.exit_code == 0);
  struct Restart {
    std::string ctl;
    ~Restart() { RunProcess({ctl, "start"}); }
  } restart{pgctl};

  int past_bound = 0;
  while (Since(stopping) < kMaxLag + seconds(3)) {
    const auto t = Since(stopping);
    Status s = StatusOf(standby_url, {"v1"});
    if (t > kMaxLag) {
      ++past_bound;
      INFO(s.describe);
      CHECK(s.exit_code == 1);
      const json* v1 = s.Version("v1");
      REQUIRE(v1);
      CHECK((*v1)["drained"] == false);
      CHECK_THAT((*v1)["reason"].get<std::string>(), Catch::Contains("not streaming"));
      CHECK(s.doc["replica"]["state"] == "receiver_disconnected");
    }
    std::this_thread::sleep_for(milliseconds(200));
  }
  CHECK(past_bound >= 3);
  // `wait` never takes it as drained: it times out (exit 1).
  ProcessResult w = RunDrain({"wait", "v1", "--database-url", standby_url, "--max-replica-lag", "2s", "--timeout", "2s",
                              "--interval", "500ms"});
  INFO(w.Describe());
  CHECK(w.exit_code == 1);

  // The primary returns: the receiver streams again and v1 is drained again.
  ProcessResult started = RunProcess({pgctl, "start"});
  REQUIRE(started.exit_code == 0);
  Status back;
  CHECK(WaitUntil(
      [&] {
        back = StatusOf(standby_url, {"v1"});
        return back.exit_code == 0;
      },
      seconds(20), milliseconds(250)));
  INFO(back.describe);
  CHECK(back.doc["replica"]["state"] == "caught_up");
}

TEST_CASE("standby 5: a standby's quiet period is read whole every time, a primary's incrementally", "[replica]") {
  // Rows reach a standby as replay does, however old their created_at (core/window_ledger.h).
  Fixture fx;
  dbos_drain::ConnectionSettings settings;
  settings.schema = fx.db.schema();
  settings.url = StandbyUrl(fx.db);
  dbos_drain::SystemDatabase standby(settings);
  dbos_drain::Snapshot first = standby.Read();
  dbos_drain::Snapshot second = standby.Read();
  CHECK(first.standby.in_recovery);
  CHECK(first.window_read.full());
  CHECK(second.window_read.full());
  settings.url = fx.db.url();
  dbos_drain::SystemDatabase primary(settings);
  CHECK(primary.Read().window_read.full());
  CHECK_FALSE(primary.Read().window_read.full());
}
