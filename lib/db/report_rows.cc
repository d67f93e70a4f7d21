#include "report_rows.h"

#include <set>
#include <stdexcept>

namespace dbos_drain {
namespace {

template <typename T>
const T& Required(const std::optional<T>& value, const ReportRow& row, const char* column) {
  if (!value) throw std::runtime_error("report row of kind '" + row.kind + "' has NULL " + column);
  return *value;
}

}  // namespace

void AddReportRow(const ReportRow& row, Snapshot& snapshot) {
  if (row.kind == "g") {
    const std::string& text = Required(row.status, row, "status");
    auto status = ParseInFlightStatus(text);
    if (!status) {
      if (IsFinishedStatus(text)) return;
      // Neither finished nor in flight: never read as finished (the status check's rows).
      UnknownStatusGroup u;
      u.version = row.version;
      u.status = text;
      u.count = Required(row.n, row, "n");
      u.oldest_created_at_ms = Required(row.a, row, "a");
      snapshot.unknown_statuses.push_back(std::move(u));
      return;
    }
    InFlightGroup g;
    g.version = row.version;
    g.queue = row.queue;
    g.executor = row.executor.value_or("");  // grouped by the plain column: NULL is ''

    g.status = *status;
    g.count = Required(row.n, row, "n");
    g.oldest_created_at_ms = Required(row.a, row, "a");
    snapshot.groups.push_back(std::move(g));
  } else if (row.kind == "v") {
    snapshot.registered.push_back({Required(row.version, row, "version"), row.a.value_or(0), row.b.value_or(0), row.executor});
  } else if (row.kind == "q") {
    QueueConfig q;
    q.name = Required(row.queue, row, "queue");
    q.concurrency = row.a;
    q.worker_concurrency = row.b;
    q.application = row.executor;
    snapshot.queues.push_back(std::move(q));
  } else if (row.kind == "n") {
    snapshot.as_of_ms = Required(row.a, row, "a");
  }
}

std::vector<std::string> VersionsToProbe(const Snapshot& snapshot, const std::vector<std::string>& asked) {
  std::set<std::string> seen;
  for (const auto& r : snapshot.registered) seen.insert(r.name);
  for (const auto& g : snapshot.groups) {
    if (g.version) seen.insert(*g.version);
  }
  std::vector<std::string> probe;
  for (const auto& v : asked) {
    if (!seen.count(v)) probe.push_back(v);
  }
  return probe;
}

}  // namespace dbos_drain
