#include "model.h"

namespace dbos_drain {

std::optional<InFlightStatus> ParseInFlightStatus(const std::string& status) {
  if (status == "PENDING") return InFlightStatus::kPending;
  if (status == "ENQUEUED") return InFlightStatus::kEnqueued;
  if (status == "DELAYED") return InFlightStatus::kDelayed;
  if (status == "SUSPENDED") return InFlightStatus::kSuspended;
  return std::nullopt;
}

bool IsFinishedStatus(const std::string& status) {
  return status == "SUCCESS" || status == "ERROR" || status == "CANCELLED" ||
         status == "MAX_RECOVERY_ATTEMPTS_EXCEEDED" || status == "RETRIES_EXCEEDED";
}

void StatusCounts::Add(InFlightStatus status, int64_t count) {
  switch (status) {
    case InFlightStatus::kPending: pending += count; break;
    case InFlightStatus::kEnqueued: enqueued += count; break;
    case InFlightStatus::kDelayed: delayed += count; break;
    case InFlightStatus::kSuspended: suspended += count; break;
  }
}

void StatusCounts::Add(const StatusCounts& other) {
  pending += other.pending;
  enqueued += other.enqueued;
  delayed += other.delayed;
  suspended += other.suspended;
}

const char* IntakeKindName(IntakeKind kind) {
  switch (kind) {
    case IntakeKind::kScheduled: return "scheduled";
    case IntakeKind::kKafka: return "kafka";
    case IntakeKind::kClientEnqueue: return "client_enqueue";
    case IntakeKind::kFork: return "fork";
    case IntakeKind::kOther: return "other";
  }
  return "other";
}

std::optional<IntakeKind> ParseIntakeKind(const std::string& name) {
  for (IntakeKind k : {IntakeKind::kScheduled, IntakeKind::kKafka, IntakeKind::kClientEnqueue, IntakeKind::kFork,
                       IntakeKind::kOther}) {
    if (name == IntakeKindName(k)) return k;
  }
  return std::nullopt;
}

const char* PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kLatest: return "latest";
    case Phase::kActive: return "active";
    case Phase::kDraining: return "draining";
    case Phase::kStuck: return "stuck";
    case Phase::kDrained: return "drained";
    case Phase::kUnknown: return "unknown";
  }
  return "unknown";
}

const VersionReport* Report::Find(const std::string& version) const {
  auto it = index.find(version);
  return it == index.end() ? nullptr : &versions[it->second];
}

}  // namespace dbos_drain
