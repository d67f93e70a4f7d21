// Placeholder replaced by the HTTP service.
#include <iostream>

#include "commands.h"
#include "cli_options.h"

namespace dbos_drain::cli {
int RunServe(int, char**) {
  std::cerr << "dbos-drain: error: serve is not built yet\n";
  return kExitError;
}
}  // namespace dbos_drain::cli
