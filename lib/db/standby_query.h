// The statement that tells a primary from a hot standby and how far behind a standby is
// (issue 15). Pure SQL text; SystemDatabase runs it on its own just before the snapshot's
// transaction, so the replay position it sees is never ahead of the snapshot's data (the lag it
// yields is an upper bound).
//
// One row: in_recovery, now_ms, receive_lsn, replay_lsn, replay_behind_bytes, last_replay_ms,
// replay_paused, receiver_running, receiver_status, last_message_ms, receiver_timeout_ms.
// Every function and view it uses is readable by any role. pg_stat_wal_receiver shows a role
// without pg_read_all_stats (such as examples/sql/readonly-role.sql's) only its pid: the status
// and last message time are then NULL (docs/operations/read-replicas.md).
#pragma once

namespace dbos_drain {

extern const char* const kStandbyQuery;

}  // namespace dbos_drain
