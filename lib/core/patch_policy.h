// The patch lifecycle policy: rows read about in-flight workflows and patch markers in, one
// verdict per workflow patch out (docs/concepts.md, "Versions and patching"). Pure functions, no I/O.
//
// DBOS (TS 5.3.0 `enablePatching`): `DBOS.patch(name)` at function id p of a workflow writes an
// operation_outputs row function_name = 'DBOS.patch-<name>' at p (output NULL, started =
// completed = now) when p has no row, and takes the new branch; a row at p with another name means
// the old branch (p is not used up). `deprecatePatch(name)` never writes and always takes the new
// branch. A patch may be deprecated once no in-flight workflow may take (or has taken) its old
// branch, and removed once no in-flight workflow holds its marker.
//
// Rules, for a patch P (markers 'DBOS.patch-P'), from one snapshot:
//  - functions(P): the workflow functions (workflow_status.name) of every workflow known to have
//    recorded a P marker; positions(P, f): the function ids of those markers in workflows of f.
//  - first_recorded(P): the earliest P marker's started time known (history, or in flight).
//  - in_flight_with_marker: PENDING/ENQUEUED/DELAYED workflows holding a P marker.
//  - blocking_deprecation: in-flight workflows W of a function in functions(P), holding no P
//    marker, with either
//      (a) created_at(W) < first_recorded(P) + overlap: W may have started on code without the
//          patch call. Whether W already passed the patch position is deliberately not judged
//          from its rows: a recv that has not returned has no row at its own id (only its
//          timeout sleep at id+1), and a step in progress has none either; and an ENQUEUED
//          workflow is not taken as "not started": launch recovery and resumeWorkflow re-enqueue
//          old workflows (on _dbos_internal_queue), which keep their created_at and history.
//          `overlap` covers the rolling deploy: old pods keep starting workflows for a while
//          after the first new pod recorded the first marker.
//      (b) a row at one of positions(P, f) whose function_name is not a patch marker: W took
//          the old branch, whenever it was created (old code in the rollout overlap, or a fork
//          that copied an old workflow's history).
//  - safe_to_deprecate = blocking_deprecation == 0; safe_to_remove = in_flight_with_marker == 0.
//  - A patch asked about that no row shows is unknown: neither safe (a typo never says "safe").
//  - When the history of markers could not be read in full, first_recorded is an upper bound
//    (later than the truth), which only makes (a) count more workflows: never fewer.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace dbos_drain {

inline constexpr const char* kPatchMarkerPrefix = "DBOS.patch-";

// "DBOS.patch-x" -> "x"; nullopt for any other function_name.
std::optional<std::string> PatchNameOfMarker(const std::string& function_name);

// A PENDING, ENQUEUED or DELAYED workflow_status row.
struct PatchWorkflowRow {
  std::string id;        // workflow_uuid
  std::string function;  // workflow_status.name
  std::string status;
  std::optional<std::string> queue;
  int64_t created_at_ms = 0;
};

// An operation_outputs row of an in-flight workflow: every patch marker, and every row at a
// function id where some marker of the same function sits.
struct PatchStepRow {
  std::string workflow_id;
  int function_id = 0;
  std::string function_name;
  std::optional<int64_t> started_at_ms;
};

// What the marker history (all of operation_outputs, finished workflows included) says about
// one patch.
struct PatchHistoryEntry {
  // The earliest marker time (started, else completed) known; none when no marker of it has a
  // time (Go writes both NULL; Java completed NULL). Never made up.
  std::optional<int64_t> first_recorded_ms;
  std::map<std::string, std::set<int>> positions;  // workflow function -> marker function ids
};

struct PatchSnapshot {
  int64_t as_of_ms = 0;  // the database's now()
  std::vector<PatchWorkflowRow> workflows;
  std::vector<PatchStepRow> steps;
  std::map<std::string, PatchHistoryEntry> history;  // by patch name
  bool history_complete = false;  // history covers every marker ever recorded (not only recent)
  // Patches with a marker that has no time at all (Go): their first_recorded is a bound at most.
  std::set<std::string> undated;
};

struct PatchOptions {
  std::chrono::milliseconds overlap{15 * 60 * 1000};  // --patch-overlap
  size_t max_listed = 5;                              // workflow ids named per blocker message
};

struct PatchBlocker {
  std::string code;  // in_flight_with_marker | blocking_deprecation | unknown_patch
  std::string message;
};

// A workflow named in a blocker, for people (oldest first).
struct PatchWorkflowRef {
  std::string id;
  std::string function;
  std::string status;
  int64_t age_ms = 0;
};

struct PatchReport {
  std::string name;  // without the DBOS.patch- prefix
  bool known = false;
  std::set<std::string> functions;
  std::map<std::string, std::set<int>> positions;
  std::optional<int64_t> first_recorded_ms;
  bool first_recorded_exact = false;  // false: an upper bound (history incomplete, or a marker without a time)
  int64_t in_flight_with_marker = 0;
  int64_t blocking_deprecation = 0;
  bool safe_to_deprecate = false;
  bool safe_to_remove = false;
  std::vector<PatchWorkflowRef> with_marker;  // the first max_listed, oldest first
  std::vector<PatchWorkflowRef> blocking;     // the first max_listed, oldest first
  std::vector<PatchBlocker> blockers;
};

struct PatchesReport {
  int64_t as_of_ms = 0;
  bool history_complete = false;
  std::chrono::milliseconds overlap{0};
  std::vector<PatchReport> patches;  // by name
};

PatchesReport BuildPatchesReport(const PatchSnapshot& snapshot, const PatchOptions& options);

// The report's entry for `name`, or an unknown entry (neither safe, blocker unknown_patch).
PatchReport FindPatch(const PatchesReport& report, const std::string& name);

}  // namespace dbos_drain
