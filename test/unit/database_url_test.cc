// Where the database URL comes from, how it is parsed, and that the password never shows
// (lib/db/database_url.h). The only I/O here is a temporary file for --database-url-file.
#include <catch2/catch.hpp>

#include "database_url.h"
#include "drain_error.h"
#include "temp_files.h"

using namespace dbos_drain;
using dbos_drain::testing::TempFile;
using std::chrono::milliseconds;

namespace {

ErrorCode CodeOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const DrainError& e) {
    return e.code();
  }
  FAIL("expected a DrainError");
  return ErrorCode::kQueryFailed;
}

std::string MessageOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const DrainError& e) {
    return e.what();
  }
  FAIL("expected a DrainError");
  return "";
}

}  // namespace

TEST_CASE("the flag wins over the file and the environment", "[url]") {
  TempFile file("postgresql://from-file/db\n");
  DatabaseUrlSources s;
  s.flag = "postgresql://from-flag/db";
  s.file_path = file.path;
  s.env = "postgresql://from-env/db";
  CHECK(ResolveDatabaseUrl(s) == "postgresql://from-flag/db");
}

TEST_CASE("the file wins over the environment and is trimmed", "[url]") {
  TempFile file("  \n\tpostgresql://u:p@from-file:5432/db \r\n\n");
  DatabaseUrlSources s;
  s.file_path = file.path;
  s.env = "postgresql://from-env/db";
  CHECK(ResolveDatabaseUrl(s) == "postgresql://u:p@from-file:5432/db");
}

TEST_CASE("the environment is used last", "[url]") {
  DatabaseUrlSources s;
  s.env = " postgres://from-env/db ";
  CHECK(ResolveDatabaseUrl(s) == "postgres://from-env/db");
}

TEST_CASE("a missing URL, file or content is a configuration error", "[url]") {
  DatabaseUrlSources none;
  CHECK(CodeOf([&] { ResolveDatabaseUrl(none); }) == ErrorCode::kConfig);
  CHECK_THAT(MessageOf([&] { ResolveDatabaseUrl(none); }), Catch::Contains("DBOS_SYSTEM_DATABASE_URL"));

  DatabaseUrlSources empty_env;
  empty_env.env = "   ";
  CHECK(CodeOf([&] { ResolveDatabaseUrl(empty_env); }) == ErrorCode::kConfig);

  DatabaseUrlSources empty_flag;
  empty_flag.flag = " ";
  empty_flag.env = "postgresql://from-env/db";  // an explicit empty flag is a mistake, not a fallback
  CHECK_THAT(MessageOf([&] { ResolveDatabaseUrl(empty_flag); }), Catch::Contains("--database-url is empty"));

  DatabaseUrlSources missing_file;
  missing_file.file_path = "/nonexistent/dbos-drain/url";
  missing_file.env = "postgresql://from-env/db";
  CHECK_THAT(MessageOf([&] { ResolveDatabaseUrl(missing_file); }), Catch::Contains("/nonexistent/dbos-drain/url"));

  TempFile blank(" \n\n ");
  DatabaseUrlSources blank_file;
  blank_file.file_path = blank.path;
  CHECK_THAT(MessageOf([&] { ResolveDatabaseUrl(blank_file); }), Catch::Contains("is empty"));
}

TEST_CASE("URLs and key=value strings parse into a conninfo with defaults", "[url]") {
  for (const char* url : {"postgres://alice:s3cret@db.example:6543/sysdb", "postgresql://alice:s3cret@db.example:6543/sysdb",
                                "host=db.example port=6543 dbname=sysdb user=alice password=s3cret"}) {
    INFO(url);
    ConnectionTarget t = ParseConnectionTarget(url, milliseconds(5000));
    CHECK(t.description == "db.example:6543/sysdb as alice");
    CHECK(t.password == "s3cret");
    CHECK_THAT(t.description, !Catch::Contains("s3cret"));
    CHECK_THAT(t.conninfo, Catch::Contains("host='db.example'"));
    CHECK_THAT(t.conninfo, Catch::Contains("connect_timeout=5"));
    CHECK_THAT(t.conninfo, Catch::Contains("application_name='dbos-drain'"));
  }
}

TEST_CASE("connect_timeout is whole seconds, rounded up, at least 1, and the URL's own wins", "[url]") {
  CHECK_THAT(ParseConnectionTarget("postgresql://h/db", milliseconds(1500)).conninfo, Catch::Contains("connect_timeout=2 "));
  CHECK_THAT(ParseConnectionTarget("postgresql://h/db", milliseconds(1)).conninfo, Catch::Contains("connect_timeout=1 "));
  auto own = ParseConnectionTarget("postgresql://h/db?connect_timeout=17&application_name=mine", milliseconds(5000));
  CHECK_THAT(own.conninfo, Catch::Contains("connect_timeout='17'"));
  CHECK_THAT(own.conninfo, !Catch::Contains("connect_timeout=5"));
  CHECK_THAT(own.conninfo, Catch::Contains("application_name='mine'"));
  CHECK_THAT(own.conninfo, !Catch::Contains("dbos-drain"));
}

TEST_CASE("the description has defaults and no password", "[url]") {
  CHECK(ParseConnectionTarget("postgresql://h/db", milliseconds(5000)).description == "h:5432/db");
  CHECK(ParseConnectionTarget("postgresql:///db?host=/run/pg", milliseconds(5000)).description == "/run/pg:5432/db");
  auto t = ParseConnectionTarget("postgresql://u:pa%40ss@h/db", milliseconds(5000));
  CHECK(t.password == "pa@ss");  // percent-decoded
  CHECK(t.description == "h:5432/db as u");
}

TEST_CASE("conninfo values are quoted so a password cannot inject options", "[url]") {
  auto t = ParseConnectionTarget("host=h dbname=db password='x\\' sslmode=disable'", milliseconds(5000));
  CHECK(t.password == "x' sslmode=disable");
  CHECK_THAT(t.conninfo, Catch::Contains("password='x\\' sslmode=disable'"));
}

TEST_CASE("invalid URLs are configuration errors that never show the password", "[url][redaction]") {
  const std::string secret = "Hunter2Secret";
  for (const std::string& url : {
           "postgresql://user:" + secret + "%zz@host/db",          // bad percent-encoding in the password
           "postgresql://user:%zz" + secret + "@host/db",
           "postgresql://user@host/db?password=" + secret + "%zz",  // ... in a query parameter
           "postgresql://user:" + secret + "@host/db?bogus=1",
           "postgresql://user:" + secret + "@[::1/db",
           "host=h password=" + secret + " bogus",
           "host=h password='" + secret,
       }) {
    INFO(url);
    std::string message;
    ErrorCode code = ErrorCode::kQueryFailed;
    try {
      ParseConnectionTarget(url, milliseconds(5000));
      FAIL("expected an error");
    } catch (const DrainError& e) {
      message = e.what();
      code = e.code();
    }
    CHECK(code == ErrorCode::kConfig);
    CHECK_THAT(message, Catch::StartsWith("invalid database URL"));
    CHECK_THAT(message, !Catch::Contains(secret));
  }
}

TEST_CASE("RedactSecrets removes passwords in URL and key=value forms", "[url][redaction]") {
  CHECK(RedactSecrets("could not connect to postgresql://bob:hunter2@h/db", "") ==
        "could not connect to postgresql://bob:***@h/db");
  CHECK(RedactSecrets("bad: postgres://:hunter2@h/db", "") == "bad: postgres://:***@h/db");
  CHECK(RedactSecrets("conninfo host=h password=hunter2 user=u", "") == "conninfo host=h password=*** user=u");
  CHECK(RedactSecrets("conninfo PASSWORD = 'hun ter2' user=u", "") == "conninfo PASSWORD = *** user=u");
  CHECK(RedactSecrets("conninfo password='it\\'s' user=u", "") == "conninfo password=*** user=u");
  // The known password is removed wherever it appears, every time.
  CHECK(RedactSecrets("FATAL: role x hunter2 and hunter2", "hunter2") == "FATAL: role x *** and ***");
  CHECK(RedactSecrets("nothing secret here", "hunter2") == "nothing secret here");
  CHECK(RedactSecrets("no password known", "") == "no password known");
}

TEST_CASE("a password with an unencoded '/' or '@' is read whole and never shown (issue 23)", "[url]") {
  const std::string pw = "pa/ss@word";
  const auto t = ParseConnectionTarget("postgresql://u:" + pw + "@127.0.0.1:5433/db", std::chrono::seconds(2));
  CHECK(t.password == pw);
  CHECK(t.description == "127.0.0.1:5433/db as u");
  CHECK(EncodeUserInfo("postgresql://u:a/b@c@h/db?sslmode=disable") == "postgresql://u:a%2Fb%40c@h/db?sslmode=disable");
  // Already encoded, no password, a key=value string: unchanged.
  CHECK(EncodeUserInfo("postgresql://u:a%40b@h/db") == "postgresql://u:a%40b@h/db");
  CHECK(EncodeUserInfo("postgresql://h/db@x") == "postgresql://h/db@x");
  CHECK(EncodeUserInfo("host=h password=a@b/c") == "host=h password=a@b/c");
}

TEST_CASE("the description holds no run of 4 characters of the password, whatever libpq made of the URL", "[url]") {
  // A host name that happens to hold the password's text.
  const auto t = ParseConnectionTarget("postgresql://u:Kv7Jq9@db-Kv7Jq9x.example:5432/app", std::chrono::seconds(2));
  CHECK(t.description.find("Kv7J") == std::string::npos);
  CHECK(t.description.find("v7Jq") == std::string::npos);
  CHECK(t.description.find("5432/app as u") != std::string::npos);
  // A key=value string libpq reads its own way: the password's runs are scrubbed from the rest.
  const auto kv = ParseConnectionTarget("host=zz-s3cr3t-zz password=s3cr3t dbname=d", std::chrono::seconds(2));
  CHECK(kv.description.find("s3cr") == std::string::npos);
  CHECK(kv.description.find("cr3t") == std::string::npos);
}
