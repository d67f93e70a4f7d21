// How far behind a hot standby's data is, and whether it is fresh enough for a verdict (issue 15).
// Pure: what the server said about itself in, an assessment out.
//
// Contract (docs/operations/read-replicas.md):
//  - A primary (not in recovery): no lag, the data is from the read's time.
//  - A standby that is caught up: its WAL receiver streams, every byte it received is replayed,
//    and the primary has not been silent for longer than an idle link ever is
//    (wal_receiver_timeout / 2, when the standby pings, plus kSilenceSlack). Then the lag is 0:
//    on an idle primary there is nothing newer, however long ago the last transaction was.
//  - Any other standby (replay behind what was received, replay paused with WAL waiting, receiver
//    not streaming: the primary is gone or the standby is cut off, or silent past that bound):
//    the data is at least as recent as the last replayed transaction (or, when everything received
//    is replayed, the last message from the primary), and no more can be proven. The lag is
//    measured from there: an upper bound, so the rule errs towards "not fresh", never the other way.
//  - No such time (nothing replayed since the standby started, no message): the lag is unknown.
//  - A standby snapshot whose observation came from another server (other_server): state
//    "unknown_server", the lag unknown.
//  - Fresh enough: the lag is known and at most `max_lag`. Otherwise `reason` says why, and no
//    version may be reported drained or safe to retire from this data.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace dbos_drain {

// What the server reports about itself (lib/db/standby_query.h), read just before the snapshot.
struct StandbyObservation {
  bool in_recovery = false;                      // pg_is_in_recovery()
  int64_t now_ms = 0;                            // the server's now()
  std::optional<std::string> receive_lsn;        // pg_last_wal_receive_lsn()
  std::optional<std::string> replay_lsn;         // pg_last_wal_replay_lsn()
  std::optional<int64_t> replay_behind_bytes;    // receive - replay; null when either is null
  std::optional<int64_t> last_replay_ms;         // pg_last_xact_replay_timestamp()
  bool replay_paused = false;                    // pg_is_wal_replay_paused()
  bool receiver_running = false;                 // pg_stat_wal_receiver has a row (pid)
  // pg_stat_wal_receiver.status and .last_msg_receipt_time: null when not running, or when the
  // role may not see them (only pid is shown without pg_read_all_stats).
  std::optional<std::string> receiver_status;
  std::optional<int64_t> last_message_ms;
  int64_t receiver_timeout_ms = 60000;           // wal_receiver_timeout
  // The snapshot ran on another server than this observation (a pooler routing between servers,
  // issue 20): nothing above describes the snapshot's server (only in_recovery, read there).
  bool other_server = false;
};

inline constexpr std::chrono::milliseconds kSilenceSlack{2000};

struct ReplicaAssessment {
  bool standby = false;
  // "primary", "caught_up", "replaying" (behind what it received), "replay_paused",
  // "receiver_disconnected" (not streaming), "receiver_silent" (streaming, primary silent too long)
  std::string state = "primary";
  std::optional<double> lag_seconds;   // standby only; null when unknown
  int64_t data_as_of_ms = 0;           // the time the data is from (the read's time when unknown)
  bool fresh = true;                   // a verdict may be drawn from this data
  std::optional<std::string> reason;   // why not fresh
  int64_t max_lag_ms = 0;
  StandbyObservation observed;
};

ReplicaAssessment AssessReplica(const StandbyObservation& observed, std::chrono::milliseconds max_lag);

}  // namespace dbos_drain
