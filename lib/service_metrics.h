// Counters about dbos-drain itself (requests, report reads), updated by the service and read by
// the /metrics encoder. Thread-safe; no I/O.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace dbos_drain {

class ServiceMetrics {
 public:
  // Upper bounds (seconds) of the report query duration histogram buckets.
  static constexpr std::array<double, 12> kQueryBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                           0.1,   0.25,   0.5,   1,    2.5,   5};

  struct QueryHistogram {
    std::array<uint64_t, kQueryBuckets.size()> buckets{};  // non-cumulative counts
    uint64_t count = 0;
    double sum_seconds = 0;
  };

  struct Snapshot {
    std::map<std::pair<std::string, int>, uint64_t> requests;  // (route, status) -> count
    QueryHistogram query;
    uint64_t read_errors = 0;
    std::map<std::string, uint64_t> read_errors_by_code;
    bool database_up = false;
    std::optional<double> last_success_unix_seconds;
  };

  void CountRequest(const std::string& route, int status);
  void ObserveRead(std::chrono::milliseconds duration, bool ok, const std::string& error_code);
  Snapshot Get() const;

 private:
  mutable std::mutex mu_;
  Snapshot s_;
};

}  // namespace dbos_drain
