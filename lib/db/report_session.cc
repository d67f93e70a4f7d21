#include "report_session.h"

#include <algorithm>

namespace dbos_drain {

namespace {
constexpr int64_t kMinWorkMemKb = 4096;    // PostgreSQL's default
constexpr int64_t kMaxWorkMemKb = 262144;  // 256MB: fits the planner's estimate at ~4M in flight
constexpr int64_t kBytesPerRow = 64;       // estimated groups ~ rows; ~130 B per hash entry / hash_mem_multiplier 2
constexpr int64_t kParallelFromRows = 100000;
}  // namespace

ReportSession SizeReportSession(int64_t in_flight_rows) {
  ReportSession s;
  const int64_t want_kb = std::max<int64_t>(0, in_flight_rows) / 1024 * kBytesPerRow;
  int64_t kb = kMinWorkMemKb;
  while (kb < want_kb && kb < kMaxWorkMemKb) kb *= 2;
  s.work_mem_kb = kb;
  s.parallel_workers = in_flight_rows >= kParallelFromRows ? 2 : 0;
  s.index_scans = in_flight_rows < kParallelFromRows;
  return s;
}

std::vector<std::pair<std::string, std::string>> ReportSessionSettings(const ReportSession& session) {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("work_mem", std::to_string(session.work_mem_kb) + "kB");
  out.emplace_back("max_parallel_workers_per_gather", std::to_string(session.parallel_workers));
  // The Gather of a parallel aggregate carries the partial groups; with the planner's estimate of
  // groups (~rows, see the header) the default cost (0.1 per tuple) always rejects it. The real
  // partial groups are a few thousand per worker.
  out.emplace_back("parallel_tuple_cost", session.parallel_workers > 0 ? "0.001" : "0.1");
  out.emplace_back("enable_bitmapscan", session.index_scans ? "off" : "on");
  return out;
}

}  // namespace dbos_drain
