// Where the database URL comes from, and how it is made safe to use and to print.
//
// Precedence: --database-url, else --database-url-file (a mounted Secret; surrounding whitespace
// trimmed), else $DBOS_SYSTEM_DATABASE_URL. postgres:// and postgresql:// URLs and libpq
// key=value strings are accepted (libpq parses all three).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace dbos_drain {

struct DatabaseUrlSources {
  std::optional<std::string> flag;       // --database-url
  std::optional<std::string> file_path;  // --database-url-file
  std::optional<std::string> env;        // $DBOS_SYSTEM_DATABASE_URL
};

// Returns the URL to use; throws DrainError(kConfig) when none is given, the file cannot be read
// or is empty.
std::string ResolveDatabaseUrl(const DatabaseUrlSources& sources);

// A parsed connection target: a libpq key=value string with our defaults filled in, plus the
// parts that are safe to print.
struct ConnectionTarget {
  std::string conninfo;     // for libpq; contains the password: never print it
  std::string description;  // "host:port/dbname as user", no password
  std::string password;     // to scrub from messages ("" when none)
};

// Parses `url` with libpq. Fills connect_timeout (when not given in the URL) and
// application_name. Throws DrainError(kConfig) with a message free of the password.
ConnectionTarget ParseConnectionTarget(const std::string& url, std::chrono::milliseconds connect_timeout);

// Removes the password (and any password=... or user:pass@ pattern) from a message.
std::string RedactSecrets(std::string message, const std::string& password);

}  // namespace dbos_drain
