// Small builders for Snapshots, so each policy test states only the rows it is about.
#pragma once

#include <optional>
#include <string>

#include "model.h"

namespace dbos_drain::unit {

inline SchemaShape NewestShape() {
  SchemaShape s;
  s.schema = "dbos";
  s.database = "appdb";
  s.has_application_versions = true;
  s.has_queues = true;
  s.has_application_name = true;
  s.has_delay_until = true;
  s.versions_have_application_name = true;
  s.queues_have_application_name = true;
  s.queues_have_worker_concurrency = true;
  s.migration = 123;
  s.has_schedule_name = true;
  s.has_forked_from = true;
  s.has_completed_at = true;
  return s;
}

// TypeScript SDK 3.x / old Python: no application_versions, no queues, no application_name.
inline SchemaShape OldShape() {
  SchemaShape s;
  s.schema = "dbos";
  s.database = "olddb";
  s.migration = 12;
  return s;
}

inline constexpr int64_t kNow = 1795677703560 + 2 * 3600 * 1000;  // a fixed "database now()"

inline InFlightGroup Group(std::optional<std::string> version, InFlightStatus status, int64_t count,
                           std::optional<std::string> queue = std::nullopt, std::string executor = "worker-1",
                           int64_t oldest = kNow - 60'000) {
  InFlightGroup g;
  g.version = std::move(version);
  g.status = status;
  g.count = count;
  g.queue = std::move(queue);
  g.executor = std::move(executor);
  g.oldest_created_at_ms = oldest;
  return g;
}

inline Snapshot MakeSnapshot(SchemaShape shape = NewestShape()) {
  Snapshot s;
  s.shape = std::move(shape);
  s.as_of_ms = kNow;
  s.window_ms = 120'000;  // the default --quiet-period, as SystemDatabase reads it
  s.finishes_known = s.shape.has_completed_at;
  return s;
}

inline void Register(Snapshot& s, const std::string& name, int64_t ts) { s.registered.push_back({name, ts, ts}); }

inline const VersionReport* Entry(const Report& r, const std::string& name) {
  for (const auto& v : r.versions) {
    if (v.version == name) return &v;
  }
  return nullptr;
}

}  // namespace dbos_drain::unit
