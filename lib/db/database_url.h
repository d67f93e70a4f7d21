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
  std::string description;  // "host:port/dbname as user": never the password, nor 4 characters in a row of it
  std::string password;     // to scrub from messages ("" when none)
};

// A postgres(ql):// URL whose user:password part holds an unencoded '@' or '/' (common in
// generated secrets) is read the way the DBOS SDKs' URL parsers read it: the user and password
// run to the last '@' before the query, with '@' and '/' percent-encoded before libpq sees it
// (libpq ends them at the first '@' or '/' and would take part of the password as host, port or
// database). Anything else is returned unchanged.
std::string EncodeUserInfo(const std::string& url);

// Parses `url` (after EncodeUserInfo) with libpq. Fills connect_timeout (when not given in the URL) and
// application_name. Throws DrainError(kConfig) with a message free of the password.
ConnectionTarget ParseConnectionTarget(const std::string& url, std::chrono::milliseconds connect_timeout);

// Removes the password (and any password=... or user:pass@ pattern) from a message.
std::string RedactSecrets(std::string message, const std::string& password);

}  // namespace dbos_drain
