// dbos-drain: tells when a DBOS application version has drained. Dispatches to a subcommand.
#include <cstring>
#include <iostream>

#include "cli_options.h"
#include "commands.h"
#include "drain_error.h"
#include "version.h"

namespace {

const char* kUsage =
    "Usage: dbos-drain COMMAND [options]\n"
    "\n"
    "Reads the DBOS system database and tells, per application version, what is still in flight\n"
    "and whether the version may be retired (safe to retire).\n"
    "\n"
    "Commands:\n"
    "  status [VERSION...]   show in-flight work and verdicts (exit 0 safe to retire, 1 not, 2 error)\n"
    "  wait VERSION...       poll until the versions are safe to retire (exit 0 safe, 1 timeout, 2 error)\n"
    "  serve                 HTTP service for Argo Rollouts, Flagger, KEDA and Prometheus\n"
    "  patches [NAME...]     workflow patches: safe to deprecate, safe to remove (exit 0 safe, 1 not, 2 error)\n"
    "  hold                  a pod's preStop: wait until serve says this pod may stop (exit 0 released)\n"
    "\n"
    "  dbos-drain COMMAND --help   options of a command\n"
    "  dbos-drain --version        print the version\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace dbos_drain;
  if (argc < 2) {
    std::cerr << kUsage;
    return cli::kExitError;
  }
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (command == "--version" || command == "version") {
    std::cout << "dbos-drain " << kVersion << std::endl;
    return 0;
  }
  try {
    if (command == "status") return cli::RunStatus(argc - 1, argv + 1);
    if (command == "wait") return cli::RunWait(argc - 1, argv + 1);
    if (command == "serve") return cli::RunServe(argc - 1, argv + 1);
    if (command == "patches") return cli::RunPatches(argc - 1, argv + 1);
    if (command == "hold") return cli::RunHold(argc - 1, argv + 1);
    std::cerr << "dbos-drain: error: unknown command \"" << command << "\"\n\n" << kUsage;
    return cli::kExitError;
  } catch (const DrainError& e) {
    std::cerr << "dbos-drain: error: " << e.what() << std::endl;
    return cli::kExitError;
  } catch (const std::exception& e) {
    std::cerr << "dbos-drain: error: " << e.what() << std::endl;
    return cli::kExitError;
  }
}
