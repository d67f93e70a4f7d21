#include "answer_inline.h"

namespace dbos_drain {

bool AnswersWithoutWaiting(RouteKind kind, bool report_fresh, bool ever_succeeded) {
  if (report_fresh) return true;
  switch (kind) {
    case RouteKind::kHealthz:
    case RouteKind::kNotFound:
    case RouteKind::kMethodNotAllowed:
    case RouteKind::kBadRequest:
      return true;
    case RouteKind::kReadyz:
      return ever_succeeded;  // latched: answered from memory
    case RouteKind::kMetrics:
    case RouteKind::kVersions:
    case RouteKind::kVersion:
    case RouteKind::kQueue:
    case RouteKind::kFlaggerConfirmPromotion:
    case RouteKind::kRetire:
    case RouteKind::kHold:     // a long poll: never on an I/O thread (hold_board.h)
    case RouteKind::kPatches:  // waits on the patch cache (plugin/serve_command.cc decides it)
      return false;
  }
  return false;
}

bool AnswersWithoutWaiting(const Route& route, bool report_fresh, bool ever_succeeded) {
  if (route.kind == RouteKind::kVersions && route.all) return false;
  if (route.kind == RouteKind::kHold) return false;
  return AnswersWithoutWaiting(route.kind, report_fresh, ever_succeeded);
}

}  // namespace dbos_drain
