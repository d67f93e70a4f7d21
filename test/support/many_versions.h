// A system database with 1,000 registered versions, most of them drained long ago (every Argo
// rollout registers one), shared by the listing tests of the cli and service suites (issue 13,
// "Many versions"; docs/concepts.md, "Which versions are listed"). Rows as the SDK writes them
// (test_database.h): application_versions rows, and workflow_status rows with created_at,
// updated_at and, once finished, completed_at.
//
//   version        registered  rows                                            listed by default
//   old-000..991   3 days ago  1 SUCCESS created and completed 3 days ago      no (safe, quiet, old)
//   busy-1..3      3 days ago  2 PENDING (busy-1), 1 ENQUEUED on tasks (2, 3)  yes (in flight)
//   finished-now   3 days ago  1 SUCCESS created 10 min ago, completed 30 s    yes (finished within the quiet period)
//   intake-now     3 days ago  1 SUCCESS created and completed 30 s ago        yes (started within the quiet period)
//   recent-1, -2   2 hours ago 1 SUCCESS created and completed 2 hours ago     yes (registered within 24h); no with --show-recent 1h
//   latest         1 min ago   nothing                                         yes (the latest)
#pragma once

#include <chrono>
#include <set>
#include <string>

#include "test_database.h"

namespace dbos_drain::testing {

struct ManyVersions {
  static constexpr int kTotal = 1000;
  static constexpr int kOld = 992;
  // Listed by default (the default --show-recent 24h and --quiet-period 2m).
  static std::set<std::string> Listed() {
    return {"busy-1", "busy-2", "busy-3", "finished-now", "intake-now", "recent-1", "recent-2", "latest"};
  }
  // Safe to retire (what status --retirable prints): the old ones, recent-1/2, finished-now.
  static constexpr int kRetirable = kOld + 3;
  static std::string Old(int i) {
    std::string n = std::to_string(i);
    return "old-" + std::string(3 - n.size(), '0') + n;
  }
};

inline void LoadManyVersions(const TestDatabase& db) {
  using namespace std::chrono_literals;
  const int64_t days_ago = AgoMs(72h);
  db.InsertQueue("tasks", std::nullopt, 2);
  for (int i = 0; i < ManyVersions::kOld; ++i) {
    const std::string v = ManyVersions::Old(i);
    db.InsertVersion(v, days_ago + i);  // registration order = name order
    db.InsertWorkflow(Workflow("SUCCESS").Version(v).CreatedAt(days_ago + i + 10).CompletedAt(days_ago + i + 20));
  }
  for (const char* v : {"busy-1", "busy-2", "busy-3", "finished-now", "intake-now"}) db.InsertVersion(v, days_ago + 5000);
  db.InsertWorkflows(2, Workflow("PENDING").Version("busy-1").CreatedAgo(3h));
  db.InsertWorkflow(Workflow("ENQUEUED").Version("busy-2").Queue("tasks").Executor("").CreatedAgo(1h));
  db.InsertWorkflow(Workflow("ENQUEUED").Version("busy-3").Queue("tasks").Executor("").CreatedAgo(1h));
  db.InsertWorkflow(Workflow("SUCCESS").Version("finished-now").CreatedAgo(10min).CompletedAgo(30s));
  db.InsertWorkflow(Workflow("SUCCESS").Version("intake-now").CreatedAgo(30s).CompletedAgo(30s));
  for (const char* v : {"recent-1", "recent-2"}) {
    db.InsertVersion(v, AgoMs(2h));
    db.InsertWorkflow(Workflow("SUCCESS").Version(v).CreatedAgo(2h).CompletedAgo(2h));
  }
  db.InsertVersion("latest", AgoMs(1min));
}

}  // namespace dbos_drain::testing
