#include "replica_lag.h"

#include <algorithm>
#include <cstdio>

#include "duration.h"

namespace dbos_drain {
namespace {

std::string Seconds(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  return buf;
}

}  // namespace

ReplicaAssessment AssessReplica(const StandbyObservation& o, std::chrono::milliseconds max_lag) {
  ReplicaAssessment a;
  a.observed = o;
  a.max_lag_ms = max_lag.count();
  a.data_as_of_ms = o.now_ms;
  if (!o.in_recovery) return a;
  a.standby = true;
  if (o.other_server) {
    a.state = "unknown_server";
    a.fresh = false;
    a.reason = "replica lag unknown: the snapshot ran on a standby other than the one whose replay position was "
               "read (a connection pooler routing between servers); no version is reported drained from it: give "
               "dbos-drain a URL that reaches one server (the primary's, or a session-mode pool)";
    return a;
  }

  // Only pid is visible without pg_read_all_stats: a running receiver is then taken as streaming
  // (the replay position and timestamps still bound the lag).
  const bool streaming = o.receiver_running && (!o.receiver_status || *o.receiver_status == "streaming");
  const bool replayed_all = o.replay_behind_bytes && *o.replay_behind_bytes <= 0;
  const std::chrono::milliseconds silence_limit(o.receiver_timeout_ms / 2 + kSilenceSlack.count());
  const bool silent = o.last_message_ms && o.now_ms - *o.last_message_ms > silence_limit.count();

  if (streaming && replayed_all && !silent) {
    a.state = "caught_up";
    a.lag_seconds = 0.0;
    return a;
  }
  if (!streaming) {
    a.state = "receiver_disconnected";
  } else if (silent) {
    a.state = "receiver_silent";
  } else if (o.replay_paused) {
    a.state = "replay_paused";
  } else {
    a.state = "replaying";
  }
  // The newest moment the data is proven to reach.
  std::optional<int64_t> proven = o.last_replay_ms;
  if (replayed_all && o.last_message_ms) proven = std::max(proven.value_or(*o.last_message_ms), *o.last_message_ms);

  std::string why;
  if (a.state == "receiver_disconnected") {
    why = "the standby's WAL receiver is not streaming (primary stopped or unreachable)";
  } else if (a.state == "receiver_silent") {
    why = "the standby has heard nothing from its primary for " + Seconds(o.now_ms - *o.last_message_ms) +
          " (longer than an idle link is ever silent: wal_receiver_timeout/2)";
  } else if (a.state == "replay_paused") {
    why = "replay is paused on the standby (pg_wal_replay_pause) with received WAL not applied";
  } else {
    why = "the standby has not replayed all the WAL it received";
  }
  if (!proven) {
    a.fresh = false;
    a.reason = "replica lag unknown: " + why + ", and no transaction has been replayed since it started, so the "
               "age of its data cannot be told; no version is reported drained from it";
    return a;
  }
  const int64_t lag_ms = std::max<int64_t>(0, o.now_ms - *proven);
  a.lag_seconds = static_cast<double>(lag_ms) / 1000.0;
  a.data_as_of_ms = o.now_ms - lag_ms;
  if (lag_ms > max_lag.count()) {
    a.fresh = false;
    a.reason = "replica lag " + Seconds(lag_ms) + " exceeds --max-replica-lag " + FormatDuration(max_lag) + ": " + why +
               "; its data may be missing newer work, so no version is reported drained from it";
  }
  return a;
}

}  // namespace dbos_drain
