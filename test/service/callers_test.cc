// Issue 16: the examples as their callers read them (KEDA v2.20.2's metrics-api scaler, Argo
// Rollouts v1.9.1's web provider, Flagger v1.44's webhook client), against the real `serve` and a
// real PostgreSQL:
//  1. the queue ScaledObject counts only what the Deployment's version can dequeue (version=latest);
//  2. an unknown queue is a clear error (KEDA: a failed poll, so the example's fallback holds);
//  3. with --query-timeout 1s every answer comes within KEDA's pre-2.20 fixed 3 s timeout;
//  4. no route the examples call ever answers 2xx with a body that is not a JSON object (Argo
//     scores a 2xx non-JSON body as Successful without evaluating successCondition).
#include <catch2/catch.hpp>

#include <fstream>
#include <pqxx/pqxx>
#include <regex>
#include <sstream>
#include <thread>

#include "drain_service.h"
#include "test_database.h"

using namespace dbos_drain::servicetest;
using dbos_drain::testing::AgoMs;
using dbos_drain::testing::SourceDir;
using dbos_drain::testing::TestDatabase;
using dbos_drain::testing::Workflow;

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The first uncommented `KEY: "VALUE"` of a manifest (the trigger's metadata).
std::string ManifestValue(const std::string& text, const std::string& key) {
  std::smatch m;
  std::regex re("\\n\\s*" + key + ":\\s*\"([^\"]*)\"");
  REQUIRE(std::regex_search(text, m, re));
  return m[1];
}

// http://HOST:PORT/PATH -> /PATH
std::string PathOf(const std::string& url) {
  std::smatch m;
  REQUIRE(std::regex_match(url, m, std::regex(R"(https?://[^/]+(/.*))")));
  return m[1];
}

// The issue's database: 4 ENQUEUED rows of v1 in `tasks` (only v1 workers dequeue them), v2 the
// latest with nothing of its own, worker concurrency 2.
struct OldRowsOnly {
  TestDatabase db;
  OldRowsOnly() {
    db.InsertVersion("v1", AgoMs(std::chrono::hours(2)));
    db.InsertVersion("v2", AgoMs(std::chrono::minutes(5)));
    db.InsertQueue("tasks", 10, 2);
    db.InsertWorkflows(4, Workflow("ENQUEUED").Version("v1").Queue("tasks").Executor(std::string("")));
  }
};

}  // namespace

TEST_CASE("examples/keda/queue-scaledobject.yaml scales on what the current version can take", "[service][keda]") {
  const std::string text = ReadFile(SourceDir() + "/examples/keda/queue-scaledobject.yaml");
  const std::string target = PathOf(ManifestValue(text, "url"));
  const std::string field = ManifestValue(text, "valueLocation");
  INFO("url path: " << target << "  valueLocation: " << field);
  CHECK(target == "/v1/queues/tasks?version=latest");

  OldRowsOnly fx;
  DrainService svc(Config(fx.db.url()));
  HttpReply r = svc.Get(target);
  INFO(r.Describe());
  REQUIRE(r.status == 200);
  auto j = r.Json();
  REQUIRE(j.at(field).is_number());
  CHECK(j.at(field) == 0);  // not 2: the v2 Deployment cannot dequeue v1's rows
  CHECK(j.at("version") == "v2");
  CHECK(j.at("selection") == "latest");
  CHECK(j.at("latest_version") == "v2");

  // Without ?version= the route still means the whole queue.
  auto whole = svc.Get("/v1/queues/tasks").Json();
  CHECK(whole.at("desired_workers") == 2);
  CHECK(whole.at("version").is_null());
  CHECK(whole.at("selection") == "all");

  // Rows the latest version takes (its own, and client enqueues without a version) count.
  fx.db.InsertWorkflows(3, Workflow("ENQUEUED").Version(std::nullopt).Queue("tasks").Executor(std::string("")));
  HttpReply after = PollUntil(svc, target, [&](const HttpReply& x) {
    return x.status == 200 && x.Json().at(field) == 2;
  }, seconds(5));
  INFO(after.Describe());
  CHECK(after.Json().at(field) == 2);  // ceil(3 / 2)
  CHECK(after.Json().at("queue_utilization") == 3);

  // A new version registers: latest follows it without a change to the ScaledObject.
  fx.db.InsertVersion("v3", AgoMs(std::chrono::seconds(1)));
  HttpReply v3 = PollUntil(svc, target, [&](const HttpReply& x) {
    return x.status == 200 && x.Json().at("version") == "v3";
  }, seconds(5));
  INFO(v3.Describe());
  CHECK(v3.Json().at("version") == "v3");
  CHECK(v3.Json().at(field) == 2);  // the NULL-version rows move to the new latest version
}

TEST_CASE("queue route: unknown queue and version=latest without a latest version are errors KEDA sees",
          "[service][keda]") {
  SECTION("an unknown queue is 404 where the queues table can tell") {
    OldRowsOnly fx;
    DrainService svc(Config(fx.db.url()));
    for (const char* target : {"/v1/queues/taks", "/v1/queues/taks?version=latest", "/v1/queues/taks?version=v1"}) {
      HttpReply r = svc.Get(target);
      INFO(target << " -> " << r.Describe());
      CHECK(IsJsonError(r, 404, "not_found"));
      CHECK(r.Json().at("error").at("message").get<std::string>().find("\"taks\"") != std::string::npos);
    }
    // The example keeps workers up through failed polls (a 404 is one): a deliberate fallback.
    const std::string text = ReadFile(SourceDir() + "/examples/keda/queue-scaledobject.yaml");
    CHECK(std::regex_search(text, std::regex(R"(\n  fallback:\n\s+failureThreshold: \d+\n\s+replicas: [1-9])")));
  }
  SECTION("a schema without a queues table cannot check a name: 200, zeros, known false") {
    TestDatabase old("schema-ts-3x.sql");
    DrainService svc(Config(old.url()));
    HttpReply r = svc.Get("/v1/queues/tasks");
    INFO(r.Describe());
    REQUIRE(r.status == 200);
    auto j = r.Json();
    CHECK(j.at("known") == false);
    CHECK(j.at("queue_utilization") == 0);
    CHECK(j.at("desired_workers").is_null());
    // ... and has no application_versions, so no latest version: 422, never a guess.
    HttpReply latest = svc.Get("/v1/queues/tasks?version=latest");
    INFO(latest.Describe());
    CHECK(IsJsonError(latest, 422, "unprocessable"));
  }
}

TEST_CASE("queue route: with --query-timeout 1s a locked database is answered within KEDA's old 3 s timeout",
          "[service][keda][lock]") {
  OldRowsOnly fx;
  DrainService svc(Config(fx.db.url()));  // --query-timeout 1s
  REQUIRE(svc.Get("/v1/queues/tasks?version=latest").status == 200);
  auto locker = fx.db.Connect();
  auto lock_tx = std::make_unique<pqxx::work>(*locker);
  lock_tx->exec("LOCK TABLE " + fx.db.schema() + ".workflow_status IN ACCESS EXCLUSIVE MODE");
  bool saw_503 = false;
  const auto t0 = Clock::now();
  while (Since(t0) < seconds(4)) {
    HttpReply r = svc.Get("/v1/queues/tasks?version=latest", WithTimeout(milliseconds(3000)));
    INFO(r.Describe());
    REQUIRE(r.status != 0);  // no answer within 3 s is what KEDA before 2.20 would see as a timeout
    CHECK((r.status == 200 || r.status == 503));
    saw_503 = saw_503 || r.status == 503;
    std::this_thread::sleep_for(milliseconds(100));
  }
  CHECK(saw_503);  // past --max-staleness the lock is an error, not the old numbers
  lock_tx->abort();
}

TEST_CASE("no route the examples call answers 2xx with a body that is not a JSON object", "[service][argo]") {
  TestDatabase db;
  db.InsertVersion("v1", AgoMs(std::chrono::hours(2)));
  db.InsertVersion("v2", AgoMs(std::chrono::hours(1)));
  db.InsertQueue("tasks", 10, 2);
  db.InsertWorkflows(2, Workflow("PENDING").Version("v1").Queue("tasks"));

  const std::string flagger = R"({"name":"my-app","namespace":"my-app","phase":"Promoting","checksum":"c","metadata":{"version":"%V%"}})";
  auto check_all = [&](const DrainService& svc, const RequestOptions& base) {
    int answered_2xx = 0;
    auto check = [&](const std::string& method, const std::string& target, const std::string& body = "") {
      RequestOptions o = base;
      if (!body.empty()) {
        o.body = body;
        o.headers.push_back({"Content-Type", "application/json"});
      }
      HttpReply r = svc.Request(method, target, o);
      INFO(method << " " << target << " -> " << r.Describe());
      REQUIRE(r.status != 0);
      if (method == "HEAD") {
        CHECK(r.Header("content-type") == "application/json");  // what GET would send
        return;
      }
      if (r.status >= 200 && r.status < 300) {
        ++answered_2xx;
        CHECK(r.Header("content-type") == "application/json");
        nlohmann::json j;
        REQUIRE_NOTHROW(j = nlohmann::json::parse(r.body));
        CHECK(j.is_object());
      } else if (!r.body.empty()) {
        CHECK_NOTHROW(nlohmann::json::parse(r.body.substr(r.body.find('\n') == std::string::npos ? 0 : r.body.find('\n') + 1)));
      }
    };
    for (const std::string& v : std::vector<std::string>{"v1", "v2", "v-unknown", PercentEncode("a/b \"c\"")}) {
      for (const char* m : {"GET", "HEAD", "PUT", "POST"}) check(m, "/v1/versions/" + v);
    }
    for (const char* m : {"GET", "HEAD", "PUT", "POST"}) check(m, "/v1/versions");
    for (const char* q : {"/v1/queues/tasks", "/v1/queues/tasks?version=latest", "/v1/queues/tasks?version=v1",
                                 "/v1/queues/taks", "/v1/queues/tasks?version="}) {
      check("GET", q);
      check("HEAD", q);
    }
    for (const char* v : {"v1", "v2", "v-unknown"}) {
      check("POST", "/v1/flagger/confirm-promotion", std::regex_replace(flagger, std::regex("%V%"), v));
    }
    check("GET", "/v1/flagger/confirm-promotion");
    // Issue 24: the blue-green set gate (analysis-template-retire.yaml).
    for (const char* r : {"/v1/retire?keep=v2", "/v1/retire?keep=v-new", "/v1/retire?keep=", "/v1/retire"}) {
      for (const char* m : {"GET", "HEAD", "POST"}) check(m, r);
    }
    return answered_2xx;
  };

  SECTION("database readable") {
    DrainService svc(Config(db.url()));
    // 4 versions, the report, 3 queue answers; Flagger answers 409 for all three: v1 in flight, v2
    // the latest (drained, never safe to retire), v-unknown unknown.
    CHECK(check_all(svc, {}) == 10);  // and the set verdict for keep=v2 and keep=v-new
  }
  SECTION("database unreadable") {
    ServeConfig c = Config("postgresql://nobody@127.0.0.1:1/none");
    c.wait_ready = false;
    DrainService svc(c);
    CHECK(check_all(svc, {}) == 0);
  }
  SECTION("bearer auth, wrong or missing token") {
    TempDir dir;
    dir.Write("token", "s3cret-token\n");
    ServeConfig c = Config(db.url());
    c.extra_args = {"--auth-token-file", dir.File("token")};
    DrainService svc(c);
    RequestOptions wrong;
    wrong.headers.push_back({"Authorization", "Bearer nope"});
    check_all(svc, wrong);  // Flagger's route stays open; the others are 401 JSON
    check_all(svc, {});
  }
}
