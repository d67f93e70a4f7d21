// The incremental read of the quiet period (lib/core/window_ledger.h), without I/O: a table of
// rows in memory answers each read as the retire statement would (db/retire_query.h), and the
// merged window must equal what one full read returns.
#include <catch2/catch.hpp>

#include <map>
#include <tuple>

#include "window_ledger.h"

using namespace dbos_drain;

namespace {

struct Row {
  int64_t created_at = 0;
  std::optional<std::string> version;
  std::string name = "wf";
  IntakeKind kind = IntakeKind::kOther;
  std::optional<int64_t> completed_at;
};

bool InRanges(int64_t t, const WindowBounds& b) { return (t >= b.lo_ms && t < b.edge_end_ms) || t >= b.from_ms; }

// What the retire statement returns for `bounds`: groups per second, version, name and kind.
std::pair<std::vector<SecondIntake>, std::vector<SecondFinish>> Answer(const std::vector<Row>& table,
                                                                         const WindowBounds& bounds) {
  std::map<std::tuple<int64_t, std::optional<std::string>, std::string, IntakeKind>, IntakeGroup> intake;
  std::map<std::pair<int64_t, std::optional<std::string>>, FinishGroup> finished;
  for (const auto& r : table) {
    if (InRanges(r.created_at, bounds)) {
      auto& g = intake[{r.created_at / 1000, r.version, r.name, r.kind}];
      g.version = r.version;
      g.name = r.name;
      g.kind = r.kind;
      g.count += 1;
      g.last_created_at_ms = std::max(g.last_created_at_ms, r.created_at);
    }
    if (r.completed_at && InRanges(*r.completed_at, bounds)) {
      auto& g = finished[{*r.completed_at / 1000, r.version}];
      g.version = r.version;
      g.count += 1;
      g.last_completed_at_ms = std::max(g.last_completed_at_ms, *r.completed_at);
    }
  }
  std::pair<std::vector<SecondIntake>, std::vector<SecondFinish>> out;
  for (const auto& [key, g] : intake) out.first.push_back({std::get<0>(key), g});
  for (const auto& [key, g] : finished) out.second.push_back({key.first, g});
  return out;
}

// Comparable forms of a snapshot's window: {version, name, kind} -> {count, last}.
using IntakeView = std::map<std::tuple<std::optional<std::string>, std::string, int>, std::pair<int64_t, int64_t>>;
using FinishView = std::map<std::optional<std::string>, std::pair<int64_t, int64_t>>;
IntakeView ViewOf(const std::vector<IntakeGroup>& groups) {
  IntakeView v;
  for (const auto& g : groups) v[{g.version, g.name, static_cast<int>(g.kind)}] = {g.count, g.last_created_at_ms};
  return v;
}
FinishView ViewOf(const std::vector<FinishGroup>& groups) {
  FinishView v;
  for (const auto& g : groups) v[g.version] = {g.count, g.last_completed_at_ms};
  return v;
}

// One refresh at `as_of`: plan, answer from `table`, merge.
Snapshot Refresh(WindowLedger& ledger, const std::vector<Row>& table, int64_t as_of, int64_t window,
                 bool must_read_all = false) {
  WindowBounds b = ledger.Plan(as_of, window, must_read_all);
  auto [intake, finished] = Answer(table, b);
  Snapshot s;
  ledger.Merge(b, as_of, window, intake, finished, s);
  return s;
}

// What one full read at `as_of` returns.
Snapshot FullRead(const std::vector<Row>& table, int64_t as_of, int64_t window) {
  WindowLedger fresh;
  return Refresh(fresh, table, as_of, window);
}

constexpr int64_t kWindow = 120000;
constexpr int64_t kT0 = 1'780'000'000'123;  // an epoch ms not on a second

}  // namespace

TEST_CASE("the first read of a connection reads the whole window", "[window]") {
  WindowLedger ledger;
  WindowBounds b = ledger.Plan(kT0, kWindow, false);
  CHECK(b.lo_ms == kT0 - kWindow);
  CHECK(b.edge_end_ms == (b.lo_ms / 1000 + 1) * 1000);
  CHECK(b.edge_end_ms % 1000 == 0);
  CHECK(b.from_ms == b.edge_end_ms);
  CHECK(b.full());
}

TEST_CASE("a refresh reads afresh only the window's edge and what is newer than the last read minus the margin",
          "[window]") {
  WindowLedger ledger;
  std::vector<Row> table;
  Refresh(ledger, table, kT0, kWindow);
  WindowBounds b = ledger.Plan(kT0 + 2000, kWindow, false);
  CHECK_FALSE(b.full());
  CHECK(b.lo_ms == kT0 + 2000 - kWindow);
  CHECK(b.from_ms == (kT0 - kRereadMargin) / 1000 * 1000);
  CHECK(b.from_ms % 1000 == 0);
  CHECK(b.edge_end_ms < b.from_ms);
}

TEST_CASE("refreshes over a steady intake return exactly what a full read returns", "[window]") {
  WindowLedger ledger;
  std::vector<Row> table;
  // Rows from before the window, and 12 minutes of refreshes every 2 s with starts every 100 ms
  // (several versions, names and kinds) that finish 1.5 s after they start.
  for (int64_t t = kT0 - 300000; t < kT0; t += 700) table.push_back({t, "v1", "old", IntakeKind::kOther, t + 100});
  int fulls = 0, incrementals = 0;
  int64_t next_start = kT0;
  int n = 0;
  for (int64_t as_of = kT0; as_of < kT0 + 720000; as_of += 2000) {
    for (; next_start <= as_of; next_start += 100, ++n) {
      Row r;
      r.created_at = next_start;
      r.version = n % 3 == 0 ? "v1" : "v2";
      r.name = n % 2 ? "a" : "b";
      r.kind = n % 5 == 0 ? IntakeKind::kKafka : IntakeKind::kOther;
      table.push_back(r);
    }
    for (auto& r : table) {
      if (!r.completed_at && r.created_at + 1500 <= as_of) r.completed_at = r.created_at + 1500;
    }
    Snapshot got = Refresh(ledger, table, as_of, kWindow);
    (got.window_read.full() ? fulls : incrementals) += 1;
    Snapshot want = FullRead(table, as_of, kWindow);
    INFO("as_of +" << (as_of - kT0) << " ms");
    REQUIRE(ViewOf(got.intake) == ViewOf(want.intake));
    REQUIRE(ViewOf(got.finished) == ViewOf(want.finished));
  }
  // A full read every kFullReadEvery (30 s = 15 refreshes), the rest incremental.
  CHECK(fulls == 24);
  CHECK(incrementals == 336);
}

TEST_CASE("a row that becomes visible late is read when its timestamp is within the margin", "[window]") {
  WindowLedger ledger;
  std::vector<Row> table{{kT0 - 5000, "v1"}};
  Refresh(ledger, table, kT0, kWindow);
  // Committed after that read, stamped 8 s before it by a slow app clock: still inside the margin.
  table.push_back({kT0 - 8000, "v2"});
  Snapshot s = Refresh(ledger, table, kT0 + 2000, kWindow);
  CHECK_FALSE(s.window_read.full());
  CHECK(ViewOf(s.intake) == ViewOf(FullRead(table, kT0 + 2000, kWindow).intake));
}

TEST_CASE("a row stamped further back than the margin is seen by the next full read", "[window]") {
  // The limit the periodic full read bounds: a commit that becomes visible more than
  // kRereadMargin after its created_at is counted at most kFullReadEvery late.
  WindowLedger ledger;
  std::vector<Row> table{{kT0 - 5000, "v1"}};
  Refresh(ledger, table, kT0, kWindow);
  table.push_back({kT0 - 60000, "v2"});
  Snapshot s = Refresh(ledger, table, kT0 + 2000, kWindow);
  CHECK(ViewOf(s.intake).size() == 1);
  int64_t as_of = kT0 + 2000;
  while (!s.window_read.full()) s = Refresh(ledger, table, as_of += 2000, kWindow);
  CHECK(as_of - kT0 <= kFullReadEvery);
  CHECK(ViewOf(s.intake) == ViewOf(FullRead(table, as_of, kWindow).intake));
  CHECK(ViewOf(s.intake).size() == 2);
}

TEST_CASE("seconds holding NULL-version intake are read afresh: a dequeue rewrites the version", "[window]") {
  WindowLedger ledger;
  // A client enqueue (no version) 50 s ago, and versioned starts around it.
  std::vector<Row> table{{kT0 - 70000, "v1"}, {kT0 - 50000, std::nullopt, "wf", IntakeKind::kClientEnqueue}, {kT0 - 1000, "v1"}};
  Refresh(ledger, table, kT0, kWindow);
  WindowBounds b = ledger.Plan(kT0 + 2000, kWindow, false);
  CHECK(b.from_ms == (kT0 - 50000) / 1000 * 1000);  // from its second, not from the margin
  // A worker of v-old dequeues it: the row now counts toward v-old, as a full read says.
  table[1].version = "v-old";
  Snapshot s = Refresh(ledger, table, kT0 + 2000, kWindow);
  CHECK(ViewOf(s.intake) == ViewOf(FullRead(table, kT0 + 2000, kWindow).intake));
  CHECK(ViewOf(s.intake).count({std::optional<std::string>("v-old"), "wf", static_cast<int>(IntakeKind::kClientEnqueue)}) == 1);
}

TEST_CASE("a full read when the clock goes back, the window changes, or the caller asks", "[window]") {
  WindowLedger ledger;
  std::vector<Row> table{{kT0 - 1000, "v1"}};
  Refresh(ledger, table, kT0, kWindow);
  CHECK_FALSE(ledger.Plan(kT0 + 2000, kWindow, false).full());
  CHECK(ledger.Plan(kT0 + 2000, kWindow, true).full());          // a standby
  CHECK(ledger.Plan(kT0 - 1, kWindow, false).full());            // the database clock went back
  CHECK(ledger.Plan(kT0 + 2000, kWindow + 1000, false).full());  // another quiet period
  CHECK(ledger.Plan(kT0 + kFullReadEvery, kWindow, false).full());
  CHECK(ledger.Plan(kT0 + kWindow, kWindow, false).full());      // a gap longer than the window
  ledger.Reset();
  CHECK(ledger.Plan(kT0 + 2000, kWindow, false).full());
}

TEST_CASE("rows dropping out of the window leave the ledger", "[window]") {
  WindowLedger ledger;
  std::vector<Row> table{{kT0 - 110000, "v1", "early"}, {kT0 - 1000, "v1", "late"}};
  Snapshot s = Refresh(ledger, table, kT0, kWindow);
  CHECK(ViewOf(s.intake).size() == 2);
  s = Refresh(ledger, table, kT0 + 12000, kWindow);  // "early" is now 122 s old
  CHECK_FALSE(s.window_read.full());
  auto view = ViewOf(s.intake);
  REQUIRE(view.size() == 1);
  CHECK(std::get<1>(view.begin()->first) == "late");
}
