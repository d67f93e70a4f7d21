// Flags shared by every subcommand that reads the database, and the exit codes.
#pragma once

#include <boost/program_options.hpp>

#include "drain_policy.h"
#include "patch_policy.h"
#include "system_database.h"

namespace dbos_drain::cli {

// 0: every named version drained (`drained`) or safe to retire (status V..., wait), 1: not, 2: error.
enum ExitCode { kExitDrained = 0, kExitNotDrained = 1, kExitError = 2 };

// --database-url, --database-url-file, --schema, --application, --connect-timeout,
// --query-timeout, --unknown-version, --quiet-period, --max-replica-lag, --show-recent.
boost::program_options::options_description DatabaseOptions();

// Throws DrainError(kConfig) for a missing URL or a bad duration.
ConnectionSettings SettingsFromFlags(const boost::program_options::variables_map& vm);
PolicyOptions PolicyFromFlags(const boost::program_options::variables_map& vm);

// --patch-overlap (patches, serve).
boost::program_options::options_description PatchOptionsDescription();
PatchOptions PatchOptionsFromFlags(const boost::program_options::variables_map& vm);

// Parses a duration flag; throws DrainError(kConfig) naming the flag.
std::chrono::milliseconds DurationFlag(const boost::program_options::variables_map& vm, const char* name);

// Parses argv for a subcommand (args after the command name); unknown flags are errors.
// Returns false when --help was printed.
bool ParseCommandLine(int argc, char** argv, const boost::program_options::options_description& visible,
                      const boost::program_options::options_description& hidden,
                      const boost::program_options::positional_options_description* positional,
                      boost::program_options::variables_map& vm, const char* usage);

// Checks version names given on the command line; throws DrainError(kConfig).
void CheckVersionArgs(const std::vector<std::string>& versions);

}  // namespace dbos_drain::cli
