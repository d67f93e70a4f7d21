// The retire statement's text (lib/db/retire_query.h): the window's two ranges as index range
// scans, the parameters, scoping and shape fitting. The database tests run and EXPLAIN it.
#include <catch2/catch.hpp>

#include "policy_fixtures.h"
#include "retire_query.h"
#include "sql_text.h"

using namespace dbos_drain;
using namespace dbos_drain::unit;

TEST_CASE("the retire statement reads the window as two ranges of each timestamp's index", "[query][window]") {
  const std::string sql = BuildRetireQuery(NewestShape(), false);
  // [lo, edge_end) and [from, +inf) (core/window_ledger.h), each a range the index can scan.
  CHECK(Count(sql, "created_at >= $1::bigint AND created_at < $2::bigint") == 1);
  CHECK(Count(sql, "created_at >= $3::bigint") == 1);
  CHECK(Count(sql, "completed_at >= $1::bigint AND completed_at < $2::bigint") == 1);
  CHECK(Count(sql, "completed_at >= $3::bigint") == 1);
  CHECK(Count(sql, " OR ") == 0);  // an OR of the ranges would be one scan reading the whole window
  CHECK(Count(sql, "now()") == 0);  // the bounds come from the report's now(), as parameters
  // Rows per second of the timestamp, so a connection can keep the seconds it does not re-read.
  CHECK_THAT(sql, Catch::Contains("created_at / 1000 AS second"));
  CHECK_THAT(sql, Catch::Contains("completed_at / 1000"));
  CHECK(Count(sql, "$4") == 0);
}

TEST_CASE("the retire statement scopes every range by $4 and fits older shapes", "[query][window]") {
  const std::string scoped = BuildRetireQuery(NewestShape(), true);
  CHECK(Count(scoped, "(application_name = $4 OR application_name IS NULL)") == 4);
  const std::string old = BuildRetireQuery(OldShape(), true);
  CHECK_THAT(old, !Catch::Contains("completed_at"));  // no finish time on older shapes
  CHECK(Count(old, "created_at >= $3::bigint") == 1);
  CHECK(Count(old, "$4") == 0);  // no application_name column: nothing to scope
}
