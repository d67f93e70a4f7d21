// The command line: help, version, bad invocations (exit 2 with a clear message), where the
// database URL comes from, and that no password is ever printed.
#include "cli_helpers.h"

#include <regex>

#include "temp_files.h"

using namespace dbos_drain::clitest;
using dbos_drain::testing::FreeLoopbackPort;
using dbos_drain::testing::TempFile;

namespace {

ProcessOptions WithEnv(const std::string& url) {
  ProcessOptions o;
  o.env["DBOS_SYSTEM_DATABASE_URL"] = url;
  return o;
}

// A database with v1 not drained, so a successful read of it exits 1 for `status v1`.
void AddWork(const TestDatabase& db) { db.InsertWorkflow(Workflow("PENDING").Version("v1")); }

}  // namespace

TEST_CASE("--help and --version", "[cli][config]") {
  for (const char* flag : {"--help", "-h", "help"}) {
    ProcessResult r = RunDrain({flag});
    INFO(r.Describe());
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::StartsWith("Usage: dbos-drain COMMAND"));
    CHECK_THAT(r.out, Catch::Contains("status [VERSION...]"));
    CHECK_THAT(r.out, Catch::Contains("wait VERSION..."));
    CHECK(r.err.empty());
  }
  ProcessResult status = RunDrain({"status", "--help"});
  CHECK(status.exit_code == 0);
  for (const char* opt : {"--json", "--database-url", "--database-url-file", "--schema", "--application",
                          "--connect-timeout", "--query-timeout", "--unknown-version"}) {
    CHECK_THAT(status.out, Catch::Contains(opt));
  }
  ProcessResult wait = RunDrain({"wait", "--help"});
  CHECK(wait.exit_code == 0);
  CHECK_THAT(wait.out, Catch::Contains("--timeout"));
  CHECK_THAT(wait.out, Catch::Contains("--interval"));

  ProcessResult version = RunDrain({"--version"});
  CHECK(version.exit_code == 0);
  CHECK(std::regex_match(version.out, std::regex(R"(dbos-drain \d+\.\d+\.\d+\n)")));
}

TEST_CASE("bad invocations exit 2 with a clear message", "[cli][config]") {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{}, "Usage: dbos-drain COMMAND"},
      {{"frobnicate"}, "unknown command \"frobnicate\""},
      {{"status", "--frobnicate"}, "--frobnicate"},
      {{"status", "--database-url"}, "--database-url"},  // missing value
      {{"status", "--database-url", "postgresql://h/db", "--query-timeout", "5"}, "invalid --query-timeout \"5\""},
      {{"status", "--database-url", "postgresql://h/db", "--connect-timeout", "0s"}, "invalid --connect-timeout \"0s\""},
      {{"status", "--database-url", "postgresql://h/db", "--unknown-version", "maybe"}, "invalid --unknown-version \"maybe\""},
      {{"status", "--database-url", "postgresql://h/db", "--schema", ""}, "invalid --schema"},
      {{"status", "--database-url", "postgresql://h/db", ""}, "version name is empty"},
      {{"status", "--database-url", "postgresql://h/db", std::string(256, 'v')}, "at most 255"},
      {{"status", "--database-url", "postgresql://h/db", "bad\xff"}, "not valid UTF-8"},
      {{"status"}, "no database URL"},
      {{"status", "--database-url-file", "/nonexistent/dbos-drain-url"}, "/nonexistent/dbos-drain-url"},
      {{"wait", "--database-url", "postgresql://h/db"}, "wait needs at least one VERSION"},
      {{"wait", "v1", "--database-url", "postgresql://h/db", "--interval", "10"}, "invalid --interval \"10\""},
      {{"wait", "v1", "--database-url", "postgresql://h/db", "--timeout", "1x"}, "invalid --timeout \"1x\""},
      {{"wait", "v1", "--database-url", "postgresql://h/db", "--interval", "-1s"}, "--interval"},
      {{"status", "--database-url", "postgresql://h:5432/db?bogus_option=1"}, "invalid database URL"},
  };
  for (const auto& c : cases) {
    ProcessResult r = RunDrain(c.args);
    INFO(r.Describe());
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(c.message));
    CHECK(r.out.empty());
  }
}

TEST_CASE("the database URL comes from the flag, else the file, else the environment", "[cli][config]") {
  TestDatabase db;
  AddWork(db);
  const std::string bad = "postgresql://nobody@127.0.0.1:" + std::to_string(FreeLoopbackPort()) + "/nowhere";

  SECTION("--database-url-file, with whitespace around the URL") {
    TempFile file("\n  \t" + db.url() + "  \n\n");
    ProcessResult r = RunDrain({"status", "v1", "--database-url-file", file.path}, WithEnv(bad));
    INFO(r.Describe());
    CHECK(r.exit_code == 1);
    CHECK(ParseTable(r.out).at(0)["PENDING"] == "1");
  }
  SECTION("DBOS_SYSTEM_DATABASE_URL") {
    ProcessResult r = RunDrain({"status", "v1"}, WithEnv(db.url()));
    INFO(r.Describe());
    CHECK(r.exit_code == 1);
    CHECK(ParseTable(r.out).at(0)["PENDING"] == "1");
  }
  SECTION("the flag wins over a file and the environment") {
    TempFile file(bad);
    ProcessResult r = RunDrain({"status", "v1", "--database-url", db.url(), "--database-url-file", file.path}, WithEnv(bad));
    INFO(r.Describe());
    CHECK(r.exit_code == 1);
  }
  SECTION("the file wins over the environment") {
    TempFile file(db.url());
    CHECK(RunDrain({"status", "v1", "--database-url-file", file.path}, WithEnv(bad)).exit_code == 1);
    TempFile bad_file(bad);
    CHECK(RunDrain({"status", "v1", "--database-url-file", bad_file.path}, WithEnv(db.url())).exit_code == 2);
  }
  SECTION("a libpq key=value string") {
    ProcessResult r = RunDrain({"status", "v1", "--database-url", db.KeyValueUrl()});
    INFO(r.Describe());
    CHECK(r.exit_code == 1);
  }
  SECTION("the postgres:// scheme") {
    std::string url = db.url();
    url.replace(0, std::string("postgresql://").size(), "postgres://");
    ProcessResult r = RunDrain({"status", "v1", "--database-url", url});
    INFO(r.Describe());
    CHECK(r.exit_code == 1);
  }
}

TEST_CASE("an unreachable database is exit 2 and the password is never printed", "[cli][config][errors]") {
  const std::string secret = "Cli-Secret-PW-42";
  const std::string port = std::to_string(FreeLoopbackPort());
  const std::vector<std::string> urls = {
      "postgresql://alice:" + secret + "@127.0.0.1:" + port + "/sysdb",
      "postgres://alice:" + secret + "@127.0.0.1:" + port + "/sysdb?sslmode=disable",
      "host=127.0.0.1 port=" + port + " dbname=sysdb user=alice password=" + secret,
      "host=127.0.0.1 port=" + port + " dbname=sysdb user=alice password='" + secret + "'",
  };
  for (const auto& url : urls) {
    for (const bool json : {false, true}) {
      std::vector<std::string> args{"status", "v1", "--connect-timeout", "2s", "--database-url", url};
      if (json) args.push_back("--json");
      ProcessResult r = RunDrain(args);
      INFO(r.Describe());
      CHECK(r.exit_code == 2);
      CHECK(r.out.empty());
      CHECK_THAT(r.err, Catch::Contains("cannot reach the DBOS system database"));
      CHECK_THAT(r.err, Catch::Contains("127.0.0.1:" + port + "/sysdb as alice"));
      CHECK_THAT(r.out + r.err, !Catch::Contains(secret));
    }
  }
  SECTION("from the environment and from a file too") {
    ProcessResult env = RunDrain({"status", "--connect-timeout", "2s"}, WithEnv(urls[0]));
    CHECK(env.exit_code == 2);
    CHECK_THAT(env.out + env.err, !Catch::Contains(secret));
    TempFile file(urls[2] + "\n");
    ProcessResult from_file = RunDrain({"status", "--connect-timeout", "2s", "--database-url-file", file.path});
    CHECK(from_file.exit_code == 2);
    CHECK_THAT(from_file.out + from_file.err, !Catch::Contains(secret));
  }
}

TEST_CASE("a malformed URL is exit 2 without the password", "[cli][config][errors]") {
  const std::string secret = "Malformed-Secret-PW";
  for (const std::string& url : {"postgresql://alice:" + secret + "%zz@127.0.0.1/db",
                                 "postgresql://alice:" + secret + "@127.0.0.1/db?nonsense=1",
                                 "host=127.0.0.1 password=" + secret + " dangling"}) {
    ProcessResult r = RunDrain({"status", "--database-url", url});
    INFO(r.Describe());
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("invalid database URL"));
    CHECK_THAT(r.out + r.err, !Catch::Contains(secret));
  }
}
