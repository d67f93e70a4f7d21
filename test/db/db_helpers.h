// Shared by the database tests: reading a TestDatabase through the library.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "clock.h"
#include "drain_error.h"
#include "drain_policy.h"
#include "system_database.h"
#include "test_database.h"

namespace dbos_drain::dbtest {

using testing::Since;
using testing::TestDatabase;
using testing::Workflow;

inline ConnectionSettings SettingsFor(const TestDatabase& db, std::optional<std::string> application = std::nullopt) {
  ConnectionSettings s;
  s.url = db.url();
  s.schema = db.schema();
  s.application = std::move(application);
  s.connect_timeout = std::chrono::seconds(5);
  s.query_timeout = std::chrono::seconds(5);
  return s;
}

inline Report ReadReport(const TestDatabase& db, const std::vector<std::string>& probe = {},
                         std::optional<std::string> application = std::nullopt, PolicyOptions policy = {}) {
  SystemDatabase reader(SettingsFor(db, std::move(application)));
  return BuildReport(reader.Read(probe), policy);
}

inline const VersionReport& EntryOf(const Report& r, const std::string& version) {
  for (const auto& v : r.versions) {
    if (v.version == version) return v;
  }
  FAIL("version " << version << " is not in the report");
  throw std::logic_error("unreachable");
}

inline bool HasEntry(const Report& r, const std::string& version) {
  for (const auto& v : r.versions) {
    if (v.version == version) return true;
  }
  return false;
}

// Runs `f`, which must throw a DrainError; returns it.
inline DrainError ExpectDrainError(const std::function<void()>& f) {
  try {
    f();
  } catch (const DrainError& e) {
    return e;
  }
  FAIL("expected a DrainError, got none");
  throw std::logic_error("unreachable");
}

}  // namespace dbos_drain::dbtest
