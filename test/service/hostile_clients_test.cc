// Issue 23, hostile clients against the real binary over loopback, each attack as the issue
// wrote it: a chunk size of -1, a chunk header of 7ffffff0, bodies cut off, a full cap of
// clients trickling their bodies, a database password with an unencoded '/' and '@', the open
// Flagger route with a token set, a JSON number that overflows. After each: the process is alive
// and answering, its RSS and descriptors (from /proc) are bounded, nothing secret was shown.
#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <thread>

#include "drain_service.h"
#include "table_lock.h"
#include "test_database.h"

using namespace dbos_drain::servicetest;
using dbos_drain::testing::AgoMs;
using dbos_drain::testing::OpenFds;
using dbos_drain::testing::TableLock;
using dbos_drain::testing::TestDatabase;
using dbos_drain::testing::WaitUntil;
using dbos_drain::testing::Workflow;

namespace {

long RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

struct OneVersion {
  TestDatabase db;
  OneVersion() {
    db.InsertVersion("v1", AgoMs(std::chrono::hours(2)));
    db.InsertVersion("v2", AgoMs(std::chrono::hours(1)));
    db.InsertWorkflow(Workflow("PENDING").Version("v1").Queue(std::string("secret-queue")).Executor("secret-executor"));
  }
};

bool NoErrorLines(const DrainService& svc) {
  for (const auto& line : svc.LogLines()) {
    if (line.value("level", "") == "error") return false;
  }
  return true;
}

const char* kFlaggerHead =
    "POST /v1/flagger/confirm-promotion HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";

}  // namespace

TEST_CASE("hostile clients: one server, every attack of issue 23 in turn", "[service][hostile][issue23]") {
  OneVersion fx;
  TempDir dir;
  dir.Write("token", "t0ken-23\n");
  ServeConfig cfg = Config(fx.db.url());
  cfg.extra_args = {"--auth-token-file", dir.File("token")};
  // Under AddressSanitizer freed chunks sit in its quarantine and would count as growth here.
  const char* asan = std::getenv("ASAN_OPTIONS");
  cfg.process.env["ASAN_OPTIONS"] = std::string(asan && *asan ? std::string(asan) + ":" : "") + "quarantine_size_mb=0";
  DrainService svc(cfg);
  const pid_t pid = svc.process().pid();
  REQUIRE(svc.Get("/healthz").status == 200);
  std::this_thread::sleep_for(milliseconds(200));
  const int fds_before = OpenFds(pid);

  SECTION("a chunk size of -1 is a 400, on any route; the process lives on") {
    for (const std::string& head : {std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n"), std::string(kFlaggerHead),
                                    std::string("GET /v1/versions/v1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0ken-23\r\n")}) {
      HttpReply r = Exchange(svc.port(), head + "Transfer-Encoding: chunked\r\n\r\n-1\r\n\r\n");
      INFO(head << r.Describe());
      CHECK(IsJsonError(r, 400, "bad_request"));
      CHECK(r.Header("connection") == "close");
      CHECK(svc.process().Running());
    }
  }
  SECTION("a chunk header of 7ffffff0 is refused from its size line: nothing is buffered") {
    const long rss_before = RssKb(pid);
    // The issue's request: a chunked GET (a GET has no body: 400 at its head) ...
    Connection get(svc.port());
    REQUIRE(get.Send("GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n7ffffff0\r\n"));
    HttpReply g = get.ReadResponse(seconds(5));
    INFO(g.Describe());
    CHECK(IsJsonError(g, 400, "bad_request"));
    // ... and the same chunk on the route that takes a body: 413 before any chunk byte is kept.
    Connection post(svc.port());
    REQUIRE(post.Send(std::string(kFlaggerHead) + "Transfer-Encoding: chunked\r\n\r\n7ffffff0\r\n"));
    const std::string mib(1 << 20, 'x');
    for (int i = 0; i < 4; ++i) post.Send(mib);  // the server may have closed already
    HttpReply p = post.ReadResponse(seconds(5));
    INFO(p.Describe());
    CHECK(IsJsonError(p, 413, "payload_too_large"));
    CHECK(post.ClosedByPeer(seconds(3)));
    const long rss_after = RssKb(pid);
    INFO("RSS before " << rss_before << " kB, after " << rss_after << " kB");
    CHECK(rss_after - rss_before < 4 * 1024);
  }
  SECTION("200 requests whose body the client cuts off leave no descriptor behind") {
    for (int i = 0; i < 200; ++i) {
      Connection c(svc.port());
      const std::string head = i % 2 ? std::string(kFlaggerHead) + "Content-Length: 1000\r\n\r\n"
                                     : std::string(kFlaggerHead) + "Transfer-Encoding: chunked\r\n\r\n3e8\r\n";
      REQUIRE(c.Send(head + std::string(100, ' ')));
    }  // each Connection closes here, mid-body
    const bool released = WaitUntil([&] { return OpenFds(pid) <= fds_before; }, seconds(3));
    INFO("descriptors before " << fds_before << ", now " << OpenFds(pid));
    CHECK(released);  // within seconds, not after the idle timeout
  }
  SECTION("a JSON number that overflows is a 400 with the documented shape, and no error line") {
    HttpReply r = svc.Post("/v1/flagger/confirm-promotion",
                           R"({"name":"app","namespace":"ns","phase":"Progressing","checksum":"c","x":1e999999})");
    INFO(r.Describe());
    CHECK(IsJsonError(r, 400, "bad_request"));
    CHECK(NoErrorLines(svc));
  }
  SECTION("the open Flagger route says only the verdict and the blockers when a token is set") {
    HttpReply r = svc.Post("/v1/flagger/confirm-promotion",
                           R"({"name":"app","namespace":"ns","phase":"Progressing","metadata":{"version":"v1"}})");
    INFO(r.Describe());
    REQUIRE(r.status == 409);
    const std::string json_line = r.body.substr(r.body.find('\n') + 1);
    const auto doc = nlohmann::json::parse(json_line);
    CHECK(doc.at("safe_to_retire") == false);
    REQUIRE(doc.at("results").size() == 1);
    const auto& v1 = doc.at("results")[0];
    CHECK(v1.at("version") == "v1");
    CHECK(v1.at("safe_to_retire") == false);
    REQUIRE_FALSE(v1.at("blockers").empty());
    for (const auto& b : v1.at("blockers")) {
      CHECK(b.at("code").is_string());
      CHECK(b.at("message").is_string());
    }
    CHECK(v1.size() == 3);  // version, safe_to_retire, blockers: no executors, queues, counts
    CHECK_FALSE(doc.contains("application"));
    CHECK(r.body.find("secret-executor") == std::string::npos);
    CHECK(r.body.find("secret-queue") == std::string::npos);
    // With the token, the same facts are on /v1/versions/v1.
    RequestOptions bearer;
    bearer.headers = {{"Authorization", "Bearer t0ken-23"}};
    HttpReply full = svc.Get("/v1/versions/v1", bearer);
    CHECK(full.body.find("secret-executor") != std::string::npos);
  }
  SECTION("malformed heads get the JSON error shape and never an echo of the target") {
    HttpReply r = Exchange(svc.port(), "GET /v1/versions/<script>x y HTTP/1.1\r\nHost: x\r\n\r\n");
    INFO(r.Describe());
    CHECK(IsJsonError(r, 400, "bad_request"));
    CHECK(r.body.find("script") == std::string::npos);
  }
  // After each attack: alive, answering, descriptors back to where they were.
  CHECK(svc.process().Running());
  CHECK(svc.Get("/healthz").status == 200);
  CHECK(WaitUntil([&] { return OpenFds(pid) <= fds_before + 1; }, seconds(3)));
}

TEST_CASE("hostile clients: a full cap of clients trickling their bodies locks nobody out", "[service][hostile][issue23]") {
  OneVersion fx;
  ServeConfig cfg = Config(fx.db.url());
  cfg.extra_args = {"--max-connections", "60", "--header-timeout", "4s"};
  DrainService svc(cfg);
  const pid_t pid = svc.process().pid();
  REQUIRE(svc.Get("/healthz").status == 200);
  std::this_thread::sleep_for(milliseconds(200));
  const int fds_before = OpenFds(pid);

  // 60 connections, headers sent, a body trickling one byte a second.
  std::vector<std::unique_ptr<Connection>> tricklers;
  for (int i = 0; i < 60; ++i) {
    tricklers.push_back(std::make_unique<Connection>(svc.port()));
    REQUIRE(tricklers.back()->Send(std::string(kFlaggerHead) + "Content-Length: 1000\r\n\r\n{"));
  }
  const auto started = Clock::now();
  std::atomic<bool> stop{false};
  std::thread trickler([&] {
    while (!stop) {
      for (auto& c : tricklers) c->Send(" ");
      std::this_thread::sleep_for(milliseconds(1000));
    }
  });
  std::this_thread::sleep_for(milliseconds(1300));  // they are "stalled" now (connection_policy.h)
  int answered = 0;
  for (const char* target : {"/healthz", "/readyz", "/v1/versions/v1", "/healthz", "/readyz", "/v1/versions"}) {
    HttpReply r = svc.Get(target, WithTimeout(seconds(2)));
    INFO(target << ": " << r.Describe());
    answered += r.status == 200;
  }
  CHECK(answered == 6);
  // The request deadline (--header-timeout 4s) is absolute: the tricklers are closed although
  // each sent a byte a second.
  const bool all_closed = WaitUntil([&] { return OpenFds(pid) <= fds_before; }, seconds(6));
  stop = true;
  trickler.join();
  INFO("descriptors before " << fds_before << ", now " << OpenFds(pid) << ", after " << Since(started).count() << " ms");
  CHECK(all_closed);
  CHECK(Since(started) < seconds(4) + seconds(3));
  CHECK(svc.Get("/healthz").status == 200);
}

TEST_CASE("hostile clients: a request awaiting its answer outlives the request deadline; a client gone meanwhile is released",
          "[service][hostile][issue23]") {
  OneVersion fx;
  ServeConfig cfg = Config(fx.db.url());
  cfg.query_timeout = "5s";
  cfg.extra_args = {"--header-timeout", "1s"};
  DrainService svc(cfg);
  const pid_t pid = svc.process().pid();
  REQUIRE(svc.Get("/v1/versions/v1").status == 200);
  std::this_thread::sleep_for(milliseconds(300));  // the report (refresh 200ms) is stale now
  const int fds_before = OpenFds(pid);
  TableLock lock(fx.db, "workflow_status");  // the next read waits on the lock

  // A client that goes away while its answer waits: its descriptor is released at once, not when
  // the answer comes (the answer is dropped then).
  {
    Connection gone(svc.port());
    REQUIRE(gone.Send("GET /v1/versions/v1 HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::this_thread::sleep_for(milliseconds(200));
  }
  const bool released = WaitUntil([&] { return OpenFds(pid) <= fds_before; }, seconds(1));
  INFO("descriptors before " << fds_before << ", now " << OpenFds(pid));
  CHECK(released);

  // A client that waits: not cut at the 1 s request deadline; answered once the read goes through.
  Connection waiting(svc.port());
  REQUIRE(waiting.Send("GET /v1/versions/v1 HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(milliseconds(2500));
  lock.Release();
  HttpReply r = waiting.ReadResponse(seconds(5));
  INFO(r.Describe());
  CHECK(r.status == 200);
  CHECK(r.Json().at("version") == "v1");
  CHECK(svc.Get("/healthz").status == 200);
}

TEST_CASE("hostile clients: a password with an unencoded '/' and '@' is never shown", "[service][hostile][issue23][password]") {
  OneVersion fx;
  const std::string password = "Zq7/9xQ@Kv7J";
  // The pieces a parser could split it into: none may appear anywhere.
  const std::vector<std::string> pieces = {password, "Zq7", "9xQ", "Kv7J", "Zq7%2F9xQ%40Kv7J"};
  auto check_clean = [&](const std::string& what, const std::string& text) {
    for (const auto& piece : pieces) {
      INFO(what << " holds \"" << piece << "\":\n" << text);
      CHECK(text.find(piece) == std::string::npos);
    }
  };
  const std::string url = "postgresql://postgres:" + password + "@" + fx.db.host() + ":" + fx.db.port() + "/" + fx.db.name();

  // The server trusts loopback (scripts/with-postgres.sh): the URL works, read the way the DBOS
  // SDKs read it; status names the database without the password.
  auto ok = dbos_drain::testing::RunDrain({"status", "--database-url", url, "v1"});
  INFO(ok.Describe());
  CHECK(ok.exit_code != -1);
  check_clean("status", ok.out + ok.err);
  // A database that does not exist: the CLI error names the target, never the password.
  const std::string missing =
      "postgresql://postgres:" + password + "@" + fx.db.host() + ":" + fx.db.port() + "/no_such_db_23";
  auto bad = dbos_drain::testing::RunDrain({"status", "--database-url", missing, "v1"});
  INFO(bad.Describe());
  CHECK(bad.exit_code != 0);
  CHECK_THAT(bad.err, Catch::Contains("no_such_db_23"));
  check_clean("status error", bad.out + bad.err);

  // serve: the log and the unauthenticated /readyz, ready and not.
  {
    DrainService svc(Config(url));
    HttpReply ready = svc.Get("/readyz");
    CHECK(ready.status == 200);
    check_clean("/readyz", ready.body);
    check_clean("serve log", svc.Stderr());
  }
  {
    ServeConfig cfg = Config(missing);
    cfg.wait_ready = false;
    DrainService svc(cfg);
    HttpReply not_ready = PollUntil(svc, "/readyz", [](const HttpReply& r) { return r.status == 503; }, seconds(5));
    INFO(not_ready.Describe());
    CHECK(not_ready.status == 503);
    check_clean("/readyz", not_ready.body);
    svc.Stop();
    check_clean("serve log", svc.Stderr());
  }
}
