// The subcommands of the dbos-drain executable. Each takes the arguments after its name and
// returns the process exit code (cli::ExitCode).
#pragma once

namespace dbos_drain::cli {

int RunStatus(int argc, char** argv);
int RunWait(int argc, char** argv);
int RunServe(int argc, char** argv);
int RunPatches(int argc, char** argv);
int RunHold(int argc, char** argv);

}  // namespace dbos_drain::cli
