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
