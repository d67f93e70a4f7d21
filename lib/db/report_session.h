// Session settings for the report read, sized from the size of the previous report. Pure: the
// rule is unit-tested (test/unit/report_session_test.cc) and SystemDatabase applies it.
//
// Why (measured with bench/run.sh, EXPLAIN (ANALYZE, BUFFERS); numbers in docs/operations/performance.md):
//  - The planner estimates the number of (version, queue, executor, status) groups as nearly the
//    number of in-flight rows (it multiplies the columns' distinct counts and clamps to the row
//    count; a read-only role cannot create extended statistics to correct it). At the default
//    work_mem (4MB) a hash table of that estimate "does not fit", so from ~50k in-flight rows it
//    sorts instead: an external merge that spills to disk and compares text with the database's
//    collation, several times the cost of the scan. A work_mem that fits the *estimate* makes it
//    choose hash aggregation; the real table is small (groups, not rows: ~14k groups, ~5MB at 1M
//    in flight over 500 versions), so the memory is reserved in name only.
//  - work_mem only grows in powers of two (the settings change only when the backlog crosses one).
//  - Every setting is scoped to the report's transaction (SET LOCAL, applied by
//    transaction_scope.h's statement before the report query is planned): nothing is left on a
//    server connection a pooler shares with other clients (issue 20).
//  - JIT is off in every transaction (transaction_scope.h): at 1M in flight the plan's
//    cost passes jit_above_cost and compiling took ~90 ms for a query whose run is dominated by
//    reading rows, not by expressions.
//  - Below kParallelFromRows (100k) in-flight rows the report reads them with plain index scans
//    of the partial indexes (BuildReportQuery's InFlightScan::kIndexScans, enable_bitmapscan
//    off), not a bitmap scan. Every finished workflow leaves a dead entry in the in-flight index
//    (its row no longer matches the predicate), and until VACUUM (on a 10M-row table autovacuum
//    waits for ~2M dead rows, hours at 100 starts/s) a bitmap scan visits the heap for each of them
//    on every read: 100 starts/s over 2 minutes doubled the heap pages a 10k backlog reads (47-56 ms,
//    growing). A plain index scan marks an entry dead the first time it finds the row dead to
//    everyone, and later scans skip it without touching the heap: 8.7-11.9 ms on the same data.
//    Above 100k rows one (parallel) sequential scan beats any index (a bare count's plan).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dbos_drain {

struct ReportSession {
  int64_t work_mem_kb = 4096;  // PostgreSQL's default
  int parallel_workers = 0;    // max_parallel_workers_per_gather
  bool index_scans = true;     // plain index scans (enable_bitmapscan off), InFlightScan::kIndexScans

  bool operator==(const ReportSession& o) const {
    return work_mem_kb == o.work_mem_kb && parallel_workers == o.parallel_workers && index_scans == o.index_scans;
  }
  bool operator!=(const ReportSession& o) const { return !(*this == o); }
};

// The settings for a report over about `in_flight_rows` rows (the previous report's total; 0 for
// the first read).
ReportSession SizeReportSession(int64_t in_flight_rows);

// The (GUC name, value) pairs that apply `session` to the report's transaction.
std::vector<std::pair<std::string, std::string>> ReportSessionSettings(const ReportSession& session);

}  // namespace dbos_drain
