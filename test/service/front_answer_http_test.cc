// The front listener answers every request (plugin/front_listener.h): HTTP/1.1 and HTTP/1.0 get
// the same answer to the same question, the listener's thread never waits on a database read,
// and pipelined requests are answered in order.
#include <catch2/catch.hpp>

#include <thread>

#include "drain_service.h"
#include "table_lock.h"
#include "test_database.h"

using namespace dbos_drain::servicetest;
using dbos_drain::testing::AgoMs;
using dbos_drain::testing::TableLock;
using dbos_drain::testing::TestDatabase;
using dbos_drain::testing::Workflow;

namespace {

struct TwoVersions {
  TestDatabase db;
  TwoVersions() {
    db.InsertVersion("v1", AgoMs(std::chrono::hours(2)));
    db.InsertVersion("v2", AgoMs(std::chrono::hours(1)));
    db.InsertWorkflow(Workflow("PENDING").Version("v1"));
    db.InsertWorkflow(Workflow("ENQUEUED").Version("v1").Queue(std::string("tasks")));
  }
};

// The answer minus what differs between two reads of the same report: age_seconds.
nlohmann::json WithoutAge(nlohmann::json j) {
  if (j.is_object()) j.erase("age_seconds");
  return j;
}

// The same request as HTTP/1.1 and as HTTP/1.0 (before issue 23 cpprest answered the latter).
void CheckSameAnswer(const DrainService& svc, const std::string& target, const std::string& extra_headers = "") {
  const std::string head = "GET " + target + " HTTP/1.";
  HttpReply front = Exchange(svc.port(), head + "1\r\nHost: x\r\nConnection: close\r\n" + extra_headers + "\r\n");
  HttpReply http10 = Exchange(svc.port(), head + "0\r\nHost: x\r\n" + extra_headers + "\r\n");
  INFO(target << "\nHTTP/1.1: " << front.Describe() << "\nHTTP/1.0: " << http10.Describe());
  REQUIRE(front.status != 0);
  CHECK(front.status_line == http10.status_line);
  auto fields = [](HttpReply r) {
    r.headers.erase("content-length");  // the bodies differ in age_seconds' digits only
    r.headers.erase("connection");
    return r.headers;
  };
  CHECK(fields(front) == fields(http10));
  CHECK(front.Header("content-length") == std::to_string(front.body.size()));
  CHECK(WithoutAge(front.Json()) == WithoutAge(http10.Json()));
}

}  // namespace

TEST_CASE("front: the pollers' routes answer HTTP/1.0 as HTTP/1.1", "[service][front]") {
  TwoVersions fx;
  ServeConfig cfg = Config(fx.db.url());
  cfg.refresh = "30s";  // one report for the whole test: both answers come from it
  DrainService svc(cfg);
  for (const char* target : {"/healthz", "/readyz", "/v1/versions", "/v1/versions?all=true", "/v1/versions/v1",
                             "/v1/versions/v2", "/v1/versions/no-such-version", "/v1/versions/a%20b%22c",
                             "/v1/queues/tasks", "/v1/queues/tasks?version=latest", "/v1/queues/nope",
                             "/v1/versions?all=maybe", "/v1/queues/tasks?version="}) {
    CheckSameAnswer(svc, target);
  }
}

TEST_CASE("front: bearer auth applies to the answers it gives", "[service][front][auth]") {
  TwoVersions fx;
  TempDir dir;
  dir.Write("token", "s3cret-token\n");
  ServeConfig cfg = Config(fx.db.url());
  cfg.refresh = "30s";
  cfg.extra_args = {"--auth-token-file", dir.File("token")};
  DrainService svc(cfg);
  CheckSameAnswer(svc, "/v1/versions/v1");  // 401, WWW-Authenticate
  CheckSameAnswer(svc, "/v1/versions/v1", "Authorization: Bearer wrong\r\n");
  CheckSameAnswer(svc, "/v1/versions/v1", "Authorization: Bearer s3cret-token\r\n");
  RequestOptions bearer;
  bearer.headers = {{"Authorization", "Bearer s3cret-token"}};
  HttpReply ok = Get(svc.port(), "/v1/versions/v1", bearer);
  CHECK(ok.status == 200);
  HttpReply no = Get(svc.port(), "/v1/versions/v1");
  CHECK(no.status == 401);
  CHECK(no.Header("www-authenticate") == "Bearer realm=\"dbos-drain\"");
}

TEST_CASE("front: pipelined GETs are answered in order; Connection: close is honoured", "[service][front]") {
  TwoVersions fx;
  DrainService svc(Config(fx.db.url()));
  {
    Connection c(svc.port());
    REQUIRE(c.Send("GET /v1/versions/v1 HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                   "GET /v1/queues/tasks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    HttpReply a = c.ReadResponse(seconds(5));
    HttpReply b = c.ReadResponse(seconds(5));
    HttpReply q = c.ReadResponse(seconds(5));
    INFO(a.Describe() << "\n" << b.Describe() << "\n" << q.Describe());
    CHECK(a.status == 200);
    CHECK(a.Json().at("version") == "v1");
    CHECK(b.Json().at("status") == "ok");
    CHECK(q.Json().at("queue") == "tasks");
    CHECK(c.ClosedByPeer(seconds(2)));  // the last one asked for it
  }
  {
    // /metrics (encoded on the worker pool), then more on the same connection.
    Connection c(svc.port());
    REQUIRE(c.Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
    HttpReply m = c.ReadResponse(seconds(5));
    CHECK(m.status == 200);
    CHECK(m.Header("content-type").find("text/plain") == 0);
    REQUIRE(c.Send("GET /v1/versions/v2 HTTP/1.1\r\nHost: x\r\n\r\n"));
    HttpReply v = c.ReadResponse(seconds(5));
    CHECK(v.status == 200);
    CHECK(v.Json().at("version") == "v2");
  }
}

TEST_CASE("front: a request waiting on a slow read never holds up other connections", "[service][front]") {
  TwoVersions fx;
  ServeConfig cfg = Config(fx.db.url());
  cfg.query_timeout = "5s";
  DrainService svc(cfg);
  REQUIRE(svc.Get("/v1/versions/v1").status == 200);
  TableLock lock(fx.db, "workflow_status");  // the next read waits on the lock
  std::this_thread::sleep_for(milliseconds(400));   // the report (refresh 200ms) is stale now
  Connection waiting(svc.port());
  REQUIRE(waiting.Send("GET /v1/versions/v1 HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(milliseconds(200));   // it is waiting for the read
  for (int i = 0; i < 5; ++i) {
    HttpReply h = svc.Get("/healthz");
    INFO(h.Describe());
    CHECK(h.status == 200);
    CHECK(h.elapsed < milliseconds(200));
  }
  lock.Release();
  HttpReply r = waiting.ReadResponse(seconds(5));
  INFO(r.Describe());
  CHECK(r.status == 200);
  CHECK(r.Json().at("version") == "v1");
  CHECK(r.Json().at("age_seconds").get<double>() < 1.0);  // the read it waited for
}
