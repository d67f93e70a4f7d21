#include "hold_rule.h"

#include <algorithm>

namespace dbos_drain {

namespace {
HoldDecision Hold(std::string code, std::string message) { return {false, std::move(code), std::move(message)}; }
}  // namespace

HoldDecision DecideHold(const HoldQuestion& q, const Report* report, const std::string& error,
                        bool report_after_arrival, const std::set<std::string>& leaving) {
  if (!report) {
    return Hold("database_unreadable", "the DBOS system database cannot be read (" + error +
                                           "): nothing says the pod's work is done, so it stays");
  }
  if (!report->replica.fresh) {
    return Hold("replica_lag", report->replica.reason.value_or("the standby is too far behind") +
                                   ": work the pod claimed on the primary may not be visible");
  }
  if (!report_after_arrival) {
    return Hold("report_before_hold", "waiting for the first database read after the hold began");
  }
  const VersionReport* v = report->Find(q.version);
  if (!v || !v->known) {
    return Hold("unknown_version", "version \"" + q.version +
                                       "\" is unknown to the system database (check the preStop command's "
                                       "version: it must be the pod's DBOS__APPVERSION); held until the bound");
  }
  auto own = v->executors.find(q.executor);
  if (own != v->executors.end() && own->second.pending > 0) {
    return Hold("own_pending", std::to_string(own->second.pending) + " PENDING workflow(s) of " + q.version +
                                   " on executor " + q.executor +
                                   ": only a process with this executor id (or DBOS Conductor) recovers them");
  }
  // What dbos-drain cannot judge (issue 22): rows of a status it does not know (this version's,
  // or without a version), or a status check that did not finish, may still need this pod.
  for (const auto& b : v->blockers) {
    if (b.code == "unknown_status" || b.code == "statuses_unchecked") return Hold(b.code, b.message);
  }
  // SUSPENDED rows left the process's memory; when their wait ends they need a live worker of
  // their version, like queued ones (shared DBOS facts).
  const int64_t queued = v->in_flight.enqueued + v->in_flight.delayed + v->in_flight.suspended;
  if (queued > 0) {
    bool other_alive = false;
    if (v->connectivity_known) {
      for (const auto& e : v->connected_executors) {
        if (e != q.executor && !leaving.count(e)) other_alive = true;
      }
    }
    if (!other_alive) {
      return Hold("queued_without_worker",
                  std::to_string(queued) + " ENQUEUED/DELAYED/SUSPENDED workflow(s) of " + q.version +
                      " and no other executor of it known alive (no dbos_transact_<executor>_" + q.version +
                      " session that is not stopping): only a worker of this version dequeues them");
    }
  }
  return {true, "released", "no PENDING workflow of " + q.version + " on executor " + q.executor +
                                (queued > 0 ? ", and another executor of it is alive for its queued work"
                                            : " and nothing of it queued")};
}

}  // namespace dbos_drain
