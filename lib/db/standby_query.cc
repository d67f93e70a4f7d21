#include "standby_query.h"

namespace dbos_drain {

// pg_is_wal_replay_paused() raises an error on a primary: only called in recovery. A plain
// "SELECT " statement in the session's own read-only transaction (default_transaction_read_only).
const char* const kStandbyQuery = R"SQL(SELECT pg_is_in_recovery(),
  (extract(epoch FROM now()) * 1000)::bigint,
  pg_last_wal_receive_lsn()::text,
  pg_last_wal_replay_lsn()::text,
  pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint,
  (extract(epoch FROM pg_last_xact_replay_timestamp()) * 1000)::bigint,
  CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END,
  r.pid IS NOT NULL,
  r.status,
  (extract(epoch FROM r.last_msg_receipt_time) * 1000)::bigint,
  (SELECT setting::bigint FROM pg_catalog.pg_settings WHERE name = 'wal_receiver_timeout')
FROM (SELECT 1) AS one LEFT JOIN pg_catalog.pg_stat_wal_receiver AS r ON true)SQL";

}  // namespace dbos_drain
