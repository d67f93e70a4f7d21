// Which requests serve answers on the I/O threads (serve/answer_inline.h).
#include <catch2/catch.hpp>

#include "answer_inline.h"

using namespace dbos_drain;

TEST_CASE("inline: a fresh report answers every route without waiting", "[inline]") {
  for (RouteKind k : {RouteKind::kHealthz, RouteKind::kReadyz, RouteKind::kMetrics, RouteKind::kVersions,
                      RouteKind::kVersion, RouteKind::kQueue, RouteKind::kFlaggerConfirmPromotion, RouteKind::kNotFound,
                      RouteKind::kMethodNotAllowed, RouteKind::kBadRequest}) {
    CHECK(AnswersWithoutWaiting(k, true, false));
    CHECK(AnswersWithoutWaiting(k, true, true));
  }
}

TEST_CASE("inline: with a stale report, only what never reads the database stays inline", "[inline]") {
  for (RouteKind k : {RouteKind::kHealthz, RouteKind::kNotFound, RouteKind::kMethodNotAllowed, RouteKind::kBadRequest}) {
    CHECK(AnswersWithoutWaiting(k, false, false));
    CHECK(AnswersWithoutWaiting(k, false, true));
  }
  // /readyz reads the database until it has answered once; then it is latched, from memory.
  CHECK_FALSE(AnswersWithoutWaiting(RouteKind::kReadyz, false, false));
  CHECK(AnswersWithoutWaiting(RouteKind::kReadyz, false, true));
  for (RouteKind k : {RouteKind::kMetrics, RouteKind::kVersions, RouteKind::kVersion, RouteKind::kQueue,
                      RouteKind::kFlaggerConfirmPromotion}) {
    CHECK_FALSE(AnswersWithoutWaiting(k, false, false));
    CHECK_FALSE(AnswersWithoutWaiting(k, false, true));
  }
}

TEST_CASE("inline: GET /v1/versions?all=true always goes to the pool (a big body, encoded on first use)", "[inline][listing]") {
  const Route all = RouteRequest("GET", "/v1/versions?all=true");
  REQUIRE(all.all);
  for (bool fresh : {true, false}) {
    for (bool ever : {true, false}) {
      CHECK_FALSE(AnswersWithoutWaiting(all, fresh, ever));
      CHECK(AnswersWithoutWaiting(RouteRequest("GET", "/v1/versions"), fresh, ever) == fresh);
      CHECK(AnswersWithoutWaiting(RouteRequest("GET", "/v1/versions?all=false"), fresh, ever) == fresh);
    }
  }
  CHECK(AnswersWithoutWaiting(RouteRequest("GET", "/v1/versions/v1?all=true"), true, true));  // not the all route
  CHECK(AnswersWithoutWaiting(RouteRequest("GET", "/v1/versions?all=maybe"), false, false));   // a 400, from memory
}
