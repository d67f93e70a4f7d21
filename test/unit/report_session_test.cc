// The session settings of the report read (lib/db/report_session.h): sized from the backlog.
#include <catch2/catch.hpp>

#include <string>
#include <utility>

#include "report_session.h"

using namespace dbos_drain;

TEST_CASE("a small backlog keeps PostgreSQL's defaults and no parallel workers", "[query][session]") {
  for (int64_t rows : {int64_t{-5}, int64_t{0}, int64_t{1}, int64_t{10000}, int64_t{65536}}) {
    ReportSession s = SizeReportSession(rows);
    CHECK(s.work_mem_kb == 4096);
    // Worker start-up costs more than it saves on a few thousand rows (bench: 9-13 ms vs 3 ms).
    CHECK(s.parallel_workers == 0);
  }
}

TEST_CASE("work_mem fits the planner's estimate of groups (~64 B per in-flight row) in powers of two", "[query][session]") {
  CHECK(SizeReportSession(99999).work_mem_kb == 8192);       // ~6.1 MB wanted
  CHECK(SizeReportSession(100000).work_mem_kb == 8192);
  CHECK(SizeReportSession(1000000).work_mem_kb == 65536);    // ~61 MB wanted
  CHECK(SizeReportSession(4000000).work_mem_kb == 262144);
  CHECK(SizeReportSession(int64_t{1} << 40).work_mem_kb == 262144);  // capped at 256MB
  // Monotonic, so the statement is re-prepared only when a power of two is crossed.
  int64_t last = 0;
  for (int64_t rows = 0; rows < 10'000'000; rows += 250'000) {
    CHECK(SizeReportSession(rows).work_mem_kb >= last);
    last = SizeReportSession(rows).work_mem_kb;
  }
  CHECK(SizeReportSession(300000) == SizeReportSession(320000));
  CHECK(SizeReportSession(10000) != SizeReportSession(1000000));
}

TEST_CASE("a large backlog gets the parallel aggregate the bare count gets", "[query][session]") {
  CHECK(SizeReportSession(99999).parallel_workers == 0);
  CHECK(SizeReportSession(100000).parallel_workers == 2);
  CHECK(SizeReportSession(1000000).parallel_workers == 2);
}

TEST_CASE("the settings are (name, value) pairs for the report's transaction", "[query][session]") {
  using S = std::pair<std::string, std::string>;
  auto small = ReportSessionSettings(SizeReportSession(0));
  REQUIRE(small.size() == 4);
  CHECK(small[0] == S{"work_mem", "4096kB"});
  CHECK(small[1] == S{"max_parallel_workers_per_gather", "0"});
  CHECK(small[2] == S{"parallel_tuple_cost", "0.1"});
  CHECK(small[3] == S{"enable_bitmapscan", "off"});
  auto large = ReportSessionSettings(SizeReportSession(1000000));
  CHECK(large[0] == S{"work_mem", "65536kB"});
  CHECK(large[1] == S{"max_parallel_workers_per_gather", "2"});
  CHECK(large[2] == S{"parallel_tuple_cost", "0.001"});
  CHECK(large[3] == S{"enable_bitmapscan", "on"});
}

TEST_CASE("small backlogs are read with plain index scans, large ones with one scan", "[query][session]") {
  // Plain index scans mark the dead entries finished workflows leave in the in-flight index; a
  // bitmap scan visits each of them in the heap on every read (report_session.h).
  CHECK(SizeReportSession(0).index_scans);
  CHECK(SizeReportSession(99999).index_scans);
  CHECK_FALSE(SizeReportSession(100000).index_scans);
  CHECK(SizeReportSession(99999) != SizeReportSession(100000));
}
