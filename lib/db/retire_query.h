// The second statement of a report's snapshot: what the retire verdict (core/retire_policy.h)
// needs beyond the in-flight rows. Pure string building, unit-tested and EXPLAINed.
//
// It runs in the same REPEATABLE READ transaction as the report query, after it, so it sees the
// same snapshot and the same now() (the transaction's start: the database clock, not the host's).
// The window's bounds come from that now() (the report's 'n' row) and the ledger of earlier reads
// (core/window_ledger.h): $1 = lo (now - --quiet-period), $2 = edge_end, $3 = from, epoch ms. It
// reads [$1, $2) and [$3, +inf), two ranges of the same index; $3 = $2 reads the whole window.
// $4 is the application when scoped.
//
// Rows (kind, version, name, source, second, n, t), per second of the timestamp (second):
//  'i' workflows created in those ranges, through workflow_status_created_at_index (every shape
//      has it), grouped by version, name and source (scheduled, kafka, client_enqueue, fork,
//      other): n = count, t = max(created_at).
//  'f' workflows finished in those ranges (completed_at, a finished status), through
//      idx_workflow_status_completed_at; only on shapes with completed_at (older shapes have no
//      finish time with an index: finishes are not read there). n = count, t = max(completed_at).
//  's' application_name of this database's sessions in pg_stat_activity that start with
//      "dbos_transact_" (the TypeScript SDK's pool names: dbos_transact_<executor>_<version>).
#pragma once

#include <string>

#include "model.h"

namespace dbos_drain {

std::string BuildRetireQuery(const SchemaShape& shape, bool application_scoped);

}  // namespace dbos_drain
