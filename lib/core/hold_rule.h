// The pod hold's release rule (GET /v1/hold, a pod's preStop): may the pod of `version` whose
// executor id is `executor` die now? A pure function of the cached report and what the hold
// board knows; no I/O. The guard for everything that deletes pods without asking (rolling
// updates, Argo canary intermediates, Flagger, scale-in, node drains).
//
// Why (shared DBOS facts): a worker recovers only PENDING rows with its own executor id and its
// own version, and dequeues only ENQUEUED rows of its own version (NULL-version rows: the latest
// version). A pod that dies with PENDING rows leaves them PENDING until a process with the same
// executor id and version launches, or DBOS Conductor has another executor of the version
// recover them; ENQUEUED/DELAYED rows of a version wait for any live worker of that version.
//
// Rule (docs/guards.md, "The pod hold"), the first that applies:
//  1. no report within its staleness bound (database unreadable): hold, database_unreadable;
//  2. the report comes from a standby past --max-replica-lag: hold, replica_lag;
//  3. the report was read before the pod asked: hold, report_before_hold (a read that started
//     earlier cannot speak for work the pod claimed since; the next refresh decides);
//  4. the version is unknown to the report (a typo in the preStop command, an older schema
//     without the version): hold, unknown_version (fail closed; the caller's bound ends it);
//  5. the pod's own executor has PENDING rows of the version: hold, own_pending;
//  6. the version has rows of a status dbos-drain does not know, or the status check did not
//     finish (blockers unknown_status, statuses_unchecked): hold, with that code;
//  7. the version has ENQUEUED, DELAYED or SUSPENDED rows (NULL-version rows count for the
//     latest; a SUSPENDED workflow needs a live worker of its version when it wakes) and no
//     other executor of it is known alive: hold, queued_without_worker. "Known alive" = a session
//     of the TS SDK (dbos_transact_<executor>_<version>) for an executor other than this one that
//     is not itself holding or recently released (`leaving`): two pods stopping together never
//     count on each other. Python and Go name no executor, so there it never is: the pod holds
//     until the queue of its version is empty.
//  8. otherwise: release (code released).
// It never looks at recent intake, latest or stuck: those judge the version, not one pod.
#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>

#include "model.h"

namespace dbos_drain {

// The longest bound a holder may ask for. The front listener sets no deadline on a request
// awaiting its answer (connection_policy.h), so the cap only keeps each poll below the idle
// timeouts of proxies and load balancers in between (60 s is a common default); a caller that
// needs longer re-polls (the preStop snippets loop).
inline constexpr std::chrono::seconds kMaxHoldBound{60};
inline constexpr std::chrono::seconds kDefaultHoldBound{30};

struct HoldQuestion {
  std::string version;
  std::string executor;
};

struct HoldDecision {
  bool release = false;
  std::string code;     // released, database_unreadable, replica_lag, report_before_hold,
                        // unknown_version, own_pending, queued_without_worker
  std::string message;  // for a person: what holds the pod, how many, what to do
};

// `report`: null when the database could not be read within the staleness bound (then
// `error` says why). `report_after_arrival`: the report's read started after the holder arrived.
// `leaving`: executors of the version holding now or released recently.
HoldDecision DecideHold(const HoldQuestion& q, const Report* report, const std::string& error,
                        bool report_after_arrival, const std::set<std::string>& leaving);

}  // namespace dbos_drain
