#include "model.h"

namespace dbos_drain {

std::optional<InFlightStatus> ParseInFlightStatus(const std::string& status) {
  if (status == "PENDING") return InFlightStatus::kPending;
  if (status == "ENQUEUED") return InFlightStatus::kEnqueued;
  if (status == "DELAYED") return InFlightStatus::kDelayed;
  return std::nullopt;
}

void StatusCounts::Add(InFlightStatus status, int64_t count) {
  switch (status) {
    case InFlightStatus::kPending: pending += count; break;
    case InFlightStatus::kEnqueued: enqueued += count; break;
    case InFlightStatus::kDelayed: delayed += count; break;
  }
}

void StatusCounts::Add(const StatusCounts& other) {
  pending += other.pending;
  enqueued += other.enqueued;
  delayed += other.delayed;
}

}  // namespace dbos_drain
