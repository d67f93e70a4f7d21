#include "service_metrics.h"

namespace dbos_drain {

void ServiceMetrics::CountRequest(const std::string& route, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++s_.requests[{route, status}];
}

void ServiceMetrics::ObserveRead(std::chrono::milliseconds duration, bool ok, const std::string& error_code) {
  std::lock_guard<std::mutex> lock(mu_);
  const double secs = duration.count() / 1000.0;
  s_.database_up = ok;
  if (!ok) {
    ++s_.read_errors;
    ++s_.read_errors_by_code[error_code];
    return;
  }
  for (size_t i = 0; i < kQueryBuckets.size(); ++i) {
    if (secs <= kQueryBuckets[i]) {
      ++s_.query.buckets[i];
      break;
    }
  }
  ++s_.query.count;
  s_.query.sum_seconds += secs;
  s_.last_success_unix_seconds =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

ServiceMetrics::Snapshot ServiceMetrics::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return s_;
}

}  // namespace dbos_drain
