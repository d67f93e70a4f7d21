// `dbos-drain wait` end to end: it returns within one interval of the drain, times out with
// exit 1, ends cleanly on SIGTERM/SIGINT, and never takes an error or an unknown version as drained.
#include "cli_helpers.h"

#include <signal.h>

using namespace dbos_drain::clitest;
using dbos_drain::testing::FreeLoopbackPort;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("wait returns within one interval after the last in-flight row finishes", "[cli][wait]") {
  TestDatabase db;
  db.InsertVersion("v1", dbos_drain::testing::AgoMs(std::chrono::hours(2)));
  db.InsertVersion("v2", dbos_drain::testing::AgoMs(std::chrono::hours(1)));
  // Started 10 minutes ago: past the quiet period, so only the in-flight rows hold v1.
  const auto ids = db.InsertWorkflows(2, Workflow("PENDING").Version("v1").CreatedAgo(std::chrono::minutes(10)));
  db.InsertWorkflow(Workflow("PENDING").Version("v2"));  // another version's work does not matter

  BackgroundProcess wait({dbos_drain::testing::DrainBinary(), "wait", "v1", "--interval", "1s", "--timeout", "2m",
                          "--database-url", db.url()});
  REQUIRE(wait.WaitForOutput("v1: draining, 2 in flight (2 pending, 0 enqueued, 0 delayed)", seconds(10)));
  db.SetStatus(ids[0], "SUCCESS");
  REQUIRE(wait.WaitForOutput("1 in flight (1 pending", seconds(5)));
  CHECK(wait.Running());

  db.SetStatus(ids[1], "ERROR");
  const auto finished = std::chrono::steady_clock::now();
  ProcessResult r = wait.Wait(seconds(10));
  const auto took = Since(finished);
  INFO(r.Describe());
  CHECK(r.exit_code == 0);
  CHECK(took < milliseconds(2000));  // one 1 s interval, plus a read and the process exit
  CHECK_THAT(r.out, Catch::Contains("v1: safe to retire"));
  CHECK_THAT(r.out, Catch::Contains("safe to retire: v1"));
  // Not a terminal: one line per change, no live-line escapes.
  CHECK_THAT(r.out, !Catch::Contains("\r"));
  CHECK(Lines(r.out).size() == 4);
}

TEST_CASE("wait exits 0 at once when the versions have already drained", "[cli][wait]") {
  TestDatabase db;
  db.InsertVersion("v1", dbos_drain::testing::AgoMs(std::chrono::hours(2)));
  db.InsertVersion("v2", dbos_drain::testing::AgoMs(std::chrono::hours(1)));  // the latest is never retirable
  db.InsertWorkflow(Workflow("SUCCESS").Version("v0").CreatedAgo(std::chrono::hours(1)));
  ProcessResult r = RunDrain(Args({"wait", "v1", "v0", "--interval", "10s"}, db));
  INFO(r.Describe());
  CHECK(r.exit_code == 0);
  CHECK(r.elapsed < milliseconds(3000));
  CHECK_THAT(r.out, Catch::Contains("v1: safe to retire; v0: safe to retire"));
}

TEST_CASE("wait times out with exit 1 while work is in flight", "[cli][wait]") {
  TestDatabase db;
  db.InsertWorkflows(2, Workflow("ENQUEUED").Version("v1").Queue("tasks"));
  ProcessResult r = RunDrain(Args({"wait", "v1", "--timeout", "2s", "--interval", "500ms"}, db));
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  CHECK(r.elapsed >= milliseconds(1900));
  CHECK(r.elapsed < milliseconds(4500));
  CHECK_THAT(r.err, Catch::Contains("timed out after 2s"));
  CHECK_THAT(r.err, Catch::Contains("v1: active, 2 in flight (0 pending, 2 enqueued, 0 delayed), 2 started in the last 2m"));
  CHECK(Lines(r.out).size() == 1);  // nothing changed: printed once
}

TEST_CASE("wait never takes an unknown version as drained", "[cli][wait]") {
  TestDatabase db;
  ProcessResult r = RunDrain(Args({"wait", "v-typo", "--timeout", "1s", "--interval", "200ms"}, db));
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("v-typo: unknown, unknown version"));

  // --unknown-version=drained lets `drained` through, never `safe_to_retire`.
  ProcessResult opt_out = RunDrain(Args({"wait", "v-typo", "--timeout", "1s", "--interval", "200ms",
                                         "--unknown-version=drained"}, db));
  INFO(opt_out.Describe());
  CHECK(opt_out.exit_code == 1);
}

TEST_CASE("wait ends cleanly on SIGTERM and SIGINT", "[cli][wait]") {
  TestDatabase db;
  db.InsertWorkflow(Workflow("PENDING").Version("v1"));
  for (int sig : {SIGTERM, SIGINT}) {
    DYNAMIC_SECTION("signal " << sig) {
      BackgroundProcess wait({dbos_drain::testing::DrainBinary(), "wait", "v1", "--interval", "10s", "--database-url", db.url()});
      REQUIRE(wait.WaitForOutput("1 in flight (1 pending", seconds(10)));
      const auto sent = std::chrono::steady_clock::now();
      wait.Signal(sig);
      ProcessResult r = wait.Wait(seconds(5));
      INFO(r.Describe());
      CHECK(Since(sent) < milliseconds(1000));  // not after the 10 s interval
      CHECK(r.term_signal == 0);               // it handled the signal and exited
      CHECK(r.exit_code == 128 + sig);
      CHECK_THAT(r.err, Catch::Contains("interrupted by signal " + std::to_string(sig) + " before safe to retire"));
    }
  }
}

TEST_CASE("wait retries database errors and never exits 0 on them", "[cli][wait][errors]") {
  const int port = FreeLoopbackPort();
  const std::string secret = "Wait-Secret-PW-9";
  ProcessResult r = RunDrain({"wait", "v1", "--timeout", "2s", "--interval", "500ms", "--connect-timeout", "1s",
                              "--database-url", "postgresql://alice:" + secret + "@127.0.0.1:" + std::to_string(port) + "/sysdb"});
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("database error, retrying in 500ms"));
  CHECK_THAT(r.out + r.err, !Catch::Contains(secret));
}

TEST_CASE("wait keeps polling through an error and drains once the database answers", "[cli][wait][errors]") {
  {
    TestDatabase db("");  // no DBOS schema yet
    BackgroundProcess wait({dbos_drain::testing::DrainBinary(), "wait", "v1", "--interval", "300ms", "--timeout", "1m",
                            "--database-url", db.url()});
    REQUIRE(wait.WaitForOutput("no DBOS system database found", seconds(10)));
    CHECK(wait.Running());
    db.LoadSqlFile(dbos_drain::testing::FixturePath("schema-newest.sql"), std::string("dbos"));
    db.InsertVersion("v1", dbos_drain::testing::AgoMs(std::chrono::hours(2)));
    db.InsertVersion("v2", dbos_drain::testing::AgoMs(std::chrono::hours(1)));
    ProcessResult done = wait.Wait(seconds(10));
    INFO(done.Describe());
    CHECK(done.exit_code == 0);
    CHECK_THAT(done.out, Catch::Contains("safe to retire: v1"));
  }
}

TEST_CASE("on a terminal wait redraws one live progress line", "[cli][wait][tty]") {
  TestDatabase db;
  const auto id = db.InsertWorkflow(Workflow("PENDING").Version("v1").CreatedAgo(std::chrono::minutes(10)));
  // util-linux `script` (Debian: bsdutils, always installed) runs the command on a pseudo-terminal.
  const std::string command = "'" + dbos_drain::testing::DrainBinary() + "' wait v1 --interval 200ms --timeout 1m --database-url '" +
                              db.url() + "'";
  BackgroundProcess wait({"script", "-qefc", command, "/dev/null"});
  REQUIRE(wait.WaitForOutput("1 in flight (1 pending", seconds(10)));
  // Let it redraw a few times, then finish the work.
  REQUIRE(dbos_drain::testing::WaitUntil(
      [&] {
        const std::string out = wait.StdoutSoFar();
        size_t redraws = 0;
        for (auto p = out.find("\r\x1b[K"); p != std::string::npos; p = out.find("\r\x1b[K", p + 1)) ++redraws;
        return redraws >= 3;
      },
      seconds(10)));
  db.SetStatus(id, "SUCCESS");
  ProcessResult r = wait.Wait(seconds(10));
  INFO(r.Describe());
  CHECK(r.exit_code == 0);
  // Every redraw went to the same line: the only line breaks are the one closing the live line
  // and the one after "safe to retire".
  size_t newlines = 0;
  for (char c : r.out) newlines += c == '\n';
  CHECK(newlines == 2);
  CHECK_THAT(r.out, Catch::Contains("\r\x1b[Kv1: safe to retire ["));
  CHECK_THAT(r.out, Catch::Contains("safe to retire: v1"));
}
