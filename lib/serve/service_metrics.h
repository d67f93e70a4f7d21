// Counters about dbos-drain itself (requests, report reads), updated by the service and read by
// the /metrics endpoint as a ServiceCounters value (core/service_counters.h). Thread-safe; no I/O.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "service_counters.h"

namespace dbos_drain {

class ServiceMetrics {
 public:
  static constexpr const auto& kQueryBuckets = dbos_drain::kQueryBuckets;
  using QueryHistogram = dbos_drain::QueryHistogram;
  using Snapshot = ServiceCounters;

  void CountRequest(const std::string& route, int status);
  void ObserveRead(std::chrono::milliseconds duration, bool ok, const std::string& error_code);
  Snapshot Get() const;

 private:
  mutable std::mutex mu_;
  Snapshot s_;
};

}  // namespace dbos_drain
