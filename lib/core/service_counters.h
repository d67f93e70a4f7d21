// What dbos-drain counts about itself (requests, report reads), as a plain value: the serve layer
// accumulates it (serve/service_metrics.h) and the /metrics encoder reads it
// (encode/prometheus_text.h). No I/O, no locking.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace dbos_drain {

// Upper bounds (seconds) of the report query duration histogram buckets.
inline constexpr std::array<double, 12> kQueryBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                         0.1,   0.25,   0.5,   1,    2.5,   5};

struct QueryHistogram {
  std::array<uint64_t, kQueryBuckets.size()> buckets{};  // non-cumulative counts
  uint64_t count = 0;
  double sum_seconds = 0;
};

struct ServiceCounters {
  std::map<std::pair<std::string, int>, uint64_t> requests;  // (route, status) -> count
  QueryHistogram query;
  uint64_t read_errors = 0;
  std::map<std::string, uint64_t> read_errors_by_code;
  bool database_up = false;
  std::optional<double> last_success_unix_seconds;
};

}  // namespace dbos_drain
