// Reads what the patch policy (core/patch_policy.h) needs: in-flight workflows with their patch
// markers and marker-position rows, and the history of markers, through a SystemDatabase
// connection (SystemDatabase::ReadWith). Thin: rows in, PatchSnapshot out.
//
// Contract:
//  - Each Read() is one READ ONLY, REPEATABLE READ snapshot. Nothing is written.
//  - The in-flight part reads only PENDING/ENQUEUED/DELAYED workflows, joined with
//    operation_outputs by its primary key (patch_query.h).
//  - Marker history (first recorded, functions, positions) is cached here: the first Read() on a
//    connection reads every marker once; later ones read only rows completed since the previous
//    read minus kHistoryRescan (an index range), and merge. A new connection (after any failure:
//    the database may be another one, e.g. a restored backup) starts over. When that first full
//    read runs past --query-timeout, the report goes on with the markers seen in flight and
//    `history_complete` false (first_recorded then an upper bound, see patch_policy.h), and only
//    new markers are read afterwards.
//  - A schema whose operation_outputs lacks the columns patching needs (workflow_uuid,
//    function_id, function_name, started_at_epoch_ms, completed_at_epoch_ms), or has no such
//    table, or whose workflow_status has no name: DrainError(kSchemaUnrecognized) saying so.
//  - Not thread-safe (nor is the SystemDatabase): one reader per connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "patch_policy.h"
#include "system_database.h"

namespace dbos_drain {

// How far back each incremental history read starts before the previous read's database clock:
// a marker's time is the application's clock when it was written, and it becomes visible at
// commit, a little later.
inline constexpr std::chrono::milliseconds kHistoryRescan{5 * 60 * 1000};

class PatchReader {
 public:
  explicit PatchReader(SystemDatabase& db) : db_(db) {}

  // Throws DrainError.
  PatchSnapshot Read();

  // How the last Read() got its history: "full" (every marker), "incremental", "timed_out".
  const std::string& last_history_read() const { return last_history_read_; }

 private:
  SystemDatabase& db_;
  uint64_t connection_ = 0;
  std::map<std::string, PatchHistoryEntry> history_;
  std::set<std::string> undated_;  // patches with a marker that has no time (Go)
  std::optional<int64_t> read_up_to_ms_;  // the database clock of the last history read
  bool history_complete_ = false;
  std::string last_history_read_;
};

}  // namespace dbos_drain
