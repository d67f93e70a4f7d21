// One system database of a patched application, shared by the patch tests of every suite
// (db, cli, service), with rows shaped as the TS SDK 5.3.0 writes them (Step, test_database.h).
//
// checkout() calls step prepare (function id 0), then `DBOS.patch("fast-path")` at id 1; the new
// branch runs fastCharge (id 2), the old one chargeCard (at id 1: the patch call does not use an
// id on the old branch). The first fast-path marker was written 3 h ago by a workflow that has
// finished since. nightlyReport() calls `DBOS.patch("audit-log")` at id 0; only a finished
// workflow holds that marker.
//
//   workflow         function       status    created  rows                                 counts for fast-path
//   finished-marked  checkout       SUCCESS   3h05m    prepare, marker (3h)                   history: first recorded
//   old-recv         checkout       PENDING   5h       prepare, (recv at 1: none), sleep at 2 blocking_deprecation
//   old-branch       checkout       PENDING   4h       prepare, chargeCard at 1               blocking_deprecation
//   resumed          checkout       ENQUEUED  6h       prepare (queue _dbos_internal_queue)   blocking_deprecation
//   marked           checkout       PENDING   2h       prepare, marker (2h), fastCharge       in_flight_with_marker
//   queued-new       checkout       ENQUEUED  1h       none (queue tasks)                     neither
//   other-fn         refund         PENDING   5h       lookup                                 neither
//   audit-done       nightlyReport  SUCCESS   1h       marker audit-log (1h)                  (audit-log: history)
#pragma once

#include <chrono>

#include "test_database.h"

namespace dbos_drain::testing {

struct PatchScenario {
  int64_t fast_path_first_ms = 0;  // the first fast-path marker's time
};

inline PatchScenario LoadPatchScenario(const TestDatabase& db) {
  using std::chrono::hours;
  using std::chrono::minutes;
  PatchScenario s;
  const std::string v = "PATCHING_ENABLED";
  auto wf = [&](const char* id, const char* fn, const char* status, std::chrono::milliseconds age) {
    return db.InsertWorkflow(Workflow(status).Id(id).Name(fn).Version(v).CreatedAgo(age));
  };
  wf("finished-marked", "checkout", "SUCCESS", minutes(185));
  db.InsertStep(Step("finished-marked", 0, "prepare").Ago(minutes(181)));
  s.fast_path_first_ms = AgoMs(hours(3));
  db.InsertStep(Step::Marker("finished-marked", 1, "fast-path").At(s.fast_path_first_ms));
  db.InsertStep(Step("finished-marked", 2, "fastCharge").Ago(minutes(179)));

  wf("old-recv", "checkout", "PENDING", hours(5));
  db.InsertStep(Step("old-recv", 0, "prepare").Ago(minutes(299)));
  db.InsertStep(Step::Sleep("old-recv", 2, AgoMs(minutes(299)) + 86'400'000).Ago(minutes(299)));

  wf("old-branch", "checkout", "PENDING", hours(4));
  db.InsertStep(Step("old-branch", 0, "prepare").Ago(minutes(239)));
  db.InsertStep(Step("old-branch", 1, "chargeCard").Ago(minutes(238)));

  db.InsertWorkflow(Workflow("ENQUEUED").Id("resumed").Name("checkout").Version(v).Queue("_dbos_internal_queue")
                        .Executor("").CreatedAgo(hours(6)));
  db.InsertStep(Step("resumed", 0, "prepare").Ago(minutes(359)));

  wf("marked", "checkout", "PENDING", hours(2));
  db.InsertStep(Step("marked", 0, "prepare").Ago(minutes(119)));
  db.InsertStep(Step::Marker("marked", 1, "fast-path").Ago(minutes(118)));
  db.InsertStep(Step("marked", 2, "fastCharge").Ago(minutes(117)));

  db.InsertWorkflow(Workflow("ENQUEUED").Id("queued-new").Name("checkout").Version(v).Queue("tasks").CreatedAgo(hours(1)));

  wf("other-fn", "refund", "PENDING", hours(5));
  db.InsertStep(Step("other-fn", 0, "lookup").Ago(minutes(299)));

  wf("audit-done", "nightlyReport", "SUCCESS", hours(1));
  db.InsertStep(Step::Marker("audit-done", 0, "audit-log").Ago(minutes(59)));
  return s;
}

}  // namespace dbos_drain::testing
