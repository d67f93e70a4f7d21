// The quiet period read incrementally (core/window_ledger.h, db/retire_query.h) against a real
// PostgreSQL: one SystemDatabase refreshing while rows start, finish and are dequeued must report
// the same intake and finishes as a fresh reader's full read of the same moment.
#include "db_helpers.h"

#include <map>
#include <thread>
#include <tuple>

using namespace dbos_drain;
using namespace dbos_drain::dbtest;
using namespace std::chrono_literals;
using testing::NowMs;

namespace {

using IntakeView = std::map<std::tuple<std::optional<std::string>, std::string, std::string>, int64_t>;

IntakeView IntakeOf(const Snapshot& s) {
  IntakeView v;
  for (const auto& g : s.intake) v[{g.version, g.name, IntakeKindName(g.kind)}] += g.count;
  return v;
}

std::map<std::optional<std::string>, int64_t> FinishesOf(const Snapshot& s) {
  std::map<std::optional<std::string>, int64_t> v;
  for (const auto& g : s.finished) v[g.version] += g.count;
  return v;
}

// A fresh reader's snapshot: its first read is always a full read of the window.
Snapshot FullRead(const TestDatabase& db) {
  SystemDatabase fresh(SettingsFor(db));
  Snapshot s = fresh.Read();
  REQUIRE(s.window_read.full());
  return s;
}

}  // namespace

TEST_CASE("window: a refresh reads only the newest rows and agrees with a full read", "[db][window]") {
  TestDatabase db;
  db.InsertVersion("v1", NowMs() - 600'000);
  db.InsertVersion("v2", NowMs() - 300'000);
  db.InsertWorkflows(3, Workflow("SUCCESS").Version("v1").Name("old").CreatedAgo(90s).CompletedAgo(80s));
  db.InsertWorkflows(2, Workflow("SUCCESS").Version("v2").Name("new").CreatedAgo(50s).CompletedAgo(40s));
  SystemDatabase reader(SettingsFor(db));
  Snapshot first = reader.Read();
  CHECK(first.window_read.full());

  // Started since, finished since, and one committed now but stamped 5 s ago (a slow commit).
  db.InsertWorkflows(4, Workflow("PENDING").Version("v1").Name("late"));
  db.InsertWorkflow(Workflow("SUCCESS").Version("v2").Name("new").CreatedAgo(5s).CompletedAgo(1s));
  db.Exec("UPDATE dbos.workflow_status SET status = 'SUCCESS', completed_at = " + std::to_string(NowMs()) +
          " WHERE name = 'late' AND workflow_uuid IN (SELECT workflow_uuid FROM dbos.workflow_status WHERE name = 'late' LIMIT 2)");
  Snapshot second = reader.Read();
  CHECK_FALSE(second.window_read.full());
  CHECK(second.window_read.from_ms > second.window_read.edge_end_ms);
  CHECK(second.window_read.from_ms <= first.as_of_ms - 10'000 + 1000);
  Snapshot want = FullRead(db);
  CHECK(IntakeOf(second) == IntakeOf(want));
  CHECK(FinishesOf(second) == FinishesOf(want));
  CHECK(IntakeOf(second).at({std::string("v1"), "late", "other"}) == 4);
  CHECK(FinishesOf(second).at(std::string("v1")) == 5);  // 3 old + 2 late

  // The verdict built from it is the same as from a full read.
  Report got = BuildReport(second, {});
  Report full = BuildReport(want, {});
  CHECK(EntryOf(got, "v1").intake.started == EntryOf(full, "v1").intake.started);
  CHECK(EntryOf(got, "v1").safe_to_retire == EntryOf(full, "v1").safe_to_retire);
  CHECK(EntryOf(got, "v2").intake.started == 3);
}

TEST_CASE("window: a client-enqueued row dequeued by an old version counts toward it on the next refresh",
          "[db][window]") {
  TestDatabase db;
  db.InsertVersion("v-old", NowMs() - 600'000);
  db.InsertVersion("v-new", NowMs() - 300'000);
  // Enqueued by a client 50 s ago (no version, executor ''), long before the re-read margin.
  const std::string id = db.InsertWorkflow(Workflow("ENQUEUED").Version(std::nullopt).Executor("").Queue("tasks")
                                               .Name("job").CreatedAgo(50s));
  SystemDatabase reader(SettingsFor(db));
  Snapshot first = reader.Read();
  CHECK(IntakeOf(first).at({std::nullopt, "job", "client_enqueue"}) == 1);
  // A worker of v-old takes it (the dequeue rewrites the version, docs/concepts.md, "What drained means") and finishes it.
  db.Exec("UPDATE dbos.workflow_status SET status = 'SUCCESS', application_version = 'v-old', executor_id = 'w-old',"
          " completed_at = " + std::to_string(NowMs()) + " WHERE workflow_uuid = '" + id + "'");
  Snapshot second = reader.Read();
  CHECK_FALSE(second.window_read.full());
  CHECK(second.window_read.from_ms <= NowMs() - 49'000);  // its second is read afresh
  CHECK(IntakeOf(second) == IntakeOf(FullRead(db)));
  Report r = BuildReport(second, {});
  CHECK(EntryOf(r, "v-old").intake.started == 1);
  CHECK_FALSE(EntryOf(r, "v-old").safe_to_retire);
}

TEST_CASE("window: rows leave the window as it moves, and a reconnect reads it whole", "[db][window]") {
  TestDatabase db;
  db.InsertVersion("v1", NowMs() - 600'000);
  db.InsertVersion("v2", NowMs() - 300'000);
  ConnectionSettings settings = SettingsFor(db);
  settings.quiet_period = 3s;
  db.InsertWorkflow(Workflow("SUCCESS").Version("v1").Name("short").CreatedAgo(1s).CompletedAgo(900ms));
  SystemDatabase reader(settings);
  Snapshot first = reader.Read();
  CHECK(IntakeOf(first).size() == 1);
  std::this_thread::sleep_for(3500ms);
  Snapshot later = reader.Read();
  CHECK(later.intake.empty());
  CHECK(later.finished.empty());
  // A failed read drops the connection; the next one is a new connection and reads it all.
  db.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
  CHECK_THROWS_AS(reader.Read(), DrainError);
  Snapshot again = reader.Read();
  CHECK(again.window_read.full());
}
