// The SQL the patch report runs (docs/operations/database.md, "Patches"), as pure text so it is unit-tested and
// EXPLAINed by bench/patches.sh. Separate from the version report (report_query.h): the version
// report never reads operation_outputs.
//
//  - kPatchColumnsQuery: the columns of operation_outputs and workflow_status in schema $1
//    (pg_catalog, like kSchemaShapeQuery): relname, attname.
//  - BuildPatchHistoryQuery: patch markers in all of operation_outputs, grouped by patch,
//    workflow function and function id, with the earliest started time. `since`: only rows with
//    completed_at_epoch_ms >= $1 (a range of idx_operation_outputs_completed_at_function_name[_v2]);
//    without it, every row is read once (the first read on a connection).
//    Columns: patch, function, function_id, first_ms.
//  - BuildPatchInFlightQuery: the PENDING/ENQUEUED/DELAYED workflow_status rows (through the
//    same partial indexes as the version report), joined with operation_outputs by its primary
//    key (workflow_uuid, function_id) only, never a scan of finished workflows' rows. Returns the
//    workflows, and their rows that are patch markers or sit at a marker position of their
//    function: a position seen in flight, or given in $1 (text[] functions) / $2 (int[] ids).
//    Columns: kind ('w' workflow, 's' step, 'n' now), id, a, b, c, x, y:
//      'w': id, a = name, b = status, c = queue_name, x = created_at;
//      's': id = workflow_uuid, a = function_name, x = function_id, y = started_at_epoch_ms;
//      'n': x = now in ms.
//  When application-scoped, the workflow_status rows are those of the application named by the
//  last parameter ($2 for the history query with `since`, else $1; $3 for the in-flight query)
//  and those owned by none.
#pragma once

#include <string>
#include <vector>

#include "model.h"

namespace dbos_drain {

extern const char* const kPatchColumnsQuery;

std::string BuildPatchHistoryQuery(const SchemaShape& shape, bool since, bool application_scoped);

std::string BuildPatchInFlightQuery(const SchemaShape& shape, bool application_scoped);

// A PostgreSQL int[] literal ("{1,2}") for $2 of the in-flight query (libpqxx 6 has no array
// parameter type; text[] literals: text_array.h).
std::string IntArrayLiteral(const std::vector<int>& values);

}  // namespace dbos_drain
