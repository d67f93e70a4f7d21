// Routing of GET /v1/retire?keep= and GET /v1/hold (lib/serve/http_route.h), without a server.
#include <catch2/catch.hpp>

#include "answer_inline.h"
#include "http_route.h"

using namespace dbos_drain;

TEST_CASE("route: /v1/retire takes keep=V[,V...]", "[route][fleet]") {
  Route r = RouteRequest("GET", "/v1/retire?keep=abc123,v%2F2");
  REQUIRE(r.kind == RouteKind::kRetire);
  CHECK(r.keep == std::vector<std::string>{"abc123", "v/2"});
  CHECK(RouteRequest("HEAD", "/v1/retire?keep=a").kind == RouteKind::kRetire);
  CHECK(RouteRequest("GET", "/v1/retire?keep=a&keep=b").keep == std::vector<std::string>{"b"});  // the last wins
  CHECK(RouteRequest("POST", "/v1/retire?keep=a").kind == RouteKind::kMethodNotAllowed);
  for (const char* bad : {"/v1/retire", "/v1/retire?keep", "/v1/retire?keep=", "/v1/retire?keep=a,,b",
                          "/v1/retire?keep=a,", "/v1/retire?keep=%zz", "/v1/retire?keep=a%00b"}) {
    INFO(bad);
    Route b = RouteRequest("GET", bad);
    CHECK(b.kind == RouteKind::kBadRequest);
    CHECK_FALSE(b.error.empty());
  }
  CHECK_FALSE(AnswersWithoutWaiting(RouteRequest("GET", "/v1/retire?keep=a"), false, true));
}

TEST_CASE("route: /v1/hold takes version, executor and a bound in seconds", "[route][hold]") {
  Route r = RouteRequest("GET", "/v1/hold?version=6d9f&executor=my-app-6d9f-x2&timeout=45");
  REQUIRE(r.kind == RouteKind::kHold);
  CHECK(r.version == std::string("6d9f"));
  CHECK(r.executor == std::string("my-app-6d9f-x2"));
  CHECK(r.bound_s == 45);
  CHECK_FALSE(RouteRequest("GET", "/v1/hold?version=a&executor=b").bound_s);  // the default applies
  for (const char* bad : {"/v1/hold", "/v1/hold?version=a", "/v1/hold?executor=b", "/v1/hold?version=&executor=b",
                          "/v1/hold?version=a&executor=b&timeout=", "/v1/hold?version=a&executor=b&timeout=-1",
                          "/v1/hold?version=a&executor=b&timeout=1.5", "/v1/hold?version=a&executor=b&timeout=9999999"}) {
    INFO(bad);
    CHECK(RouteRequest("GET", bad).kind == RouteKind::kBadRequest);
  }
  CHECK(RouteRequest("DELETE", "/v1/hold?version=a&executor=b").kind == RouteKind::kMethodNotAllowed);
  // A long poll never runs on an I/O thread, fresh report or not.
  CHECK_FALSE(AnswersWithoutWaiting(r, true, true));
}
