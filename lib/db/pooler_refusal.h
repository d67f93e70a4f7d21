// What a connection pooler says when it refuses what dbos-drain needs, as a clear error that names
// the pooler mode and what to change (issue 20, docs/operations/connection-poolers.md). Pure: the message
// of a failure in, an error out. SystemDatabase asks it before the generic classification
// (database_failure.h).
//
// Contract (kConfig: the setup must change, retrying cannot help):
//  - "transaction blocks not allowed in statement pooling mode" (PgBouncer, pool_mode statement:
//    it closes the client at the first BEGIN): "PgBouncer in statement mode cannot run
//    dbos-drain's read transaction (one consistent snapshot needs several statements in one
//    transaction) while D W: use a pool in transaction or session mode (pool_mode), e.g. another
//    database entry or port of the pooler".
//  - "unsupported startup parameter: P" (PgBouncer refuses a startup parameter it does not know,
//    e.g. options=-c ... in the URL): "the connection pooler refuses the startup parameter P
//    while D W: remove it from the database URL (settings cannot pass a pooler that way), or add
//    it to the pooler's ignore_startup_parameters".
//  - Anything else: nullopt (database_failure.h decides).
// D and W as in database_failure.h; the message is made one line and has no password.
#pragma once

#include <optional>

#include "database_failure.h"

namespace dbos_drain {

std::optional<DrainError> RecognizePoolerRefusal(const DatabaseFailure& failure, const FailureContext& context);

}  // namespace dbos_drain
