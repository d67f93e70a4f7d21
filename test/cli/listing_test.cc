// `dbos-drain status` with 1,000 registered versions, most drained long ago (test/support/
// many_versions.h): the default listing, --all, --json, named versions, --retirable and
// --show-recent, against a real PostgreSQL and the real binary (docs/concepts.md, "Which versions are listed").
#include <set>

#include "cli_helpers.h"
#include "many_versions.h"

using namespace dbos_drain::clitest;
using dbos_drain::testing::LoadManyVersions;
using dbos_drain::testing::ManyVersions;

namespace {

std::set<std::string> TableVersions(const std::string& out) {
  std::set<std::string> names;
  for (const auto& row : ParseTable(out)) names.insert(row.at("VERSION"));
  return names;
}

std::set<std::string> JsonVersions(const nlohmann::json& doc) {
  std::set<std::string> names;
  for (const auto& v : doc.at("versions")) names.insert(v.at("version").get<std::string>());
  return names;
}

std::vector<std::string> With(std::vector<std::string> args, std::initializer_list<std::string> more) {
  args.insert(args.end(), more);
  return args;
}

}  // namespace

TEST_CASE("status lists the versions that matter now; --all, names and --retirable see every one", "[cli][status][listing]") {
  TestDatabase db;
  LoadManyVersions(db);
  const auto listed = ManyVersions::Listed();
  const size_t hidden = ManyVersions::kTotal - listed.size();

  // The table: the listed versions, then a last line saying how many are hidden and how to see them.
  ProcessResult table = RunDrain(Args({"status"}, db));
  INFO(table.Describe());
  REQUIRE(table.exit_code == 0);
  CHECK(TableVersions(table.out) == listed);
  const auto lines = Lines(table.out);
  REQUIRE_FALSE(lines.empty());
  CHECK(lines.back() == std::to_string(hidden) +
                            " versions hidden: safe to retire, not registered within --show-recent 24h, nothing "
                            "finished within the quiet period; --all shows them");
  CHECK(table.out.size() < 4000);  // 8 rows and their notes, not 1,000

  ProcessResult all = RunDrain(Args({"status", "--all"}, db));
  INFO(all.Describe());
  REQUIRE(all.exit_code == 0);
  auto all_names = TableVersions(all.out);
  CHECK(all_names.size() == ManyVersions::kTotal);
  CHECK(all_names.count(ManyVersions::Old(0)) == 1);
  CHECK(all.out.find("hidden") == std::string::npos);

  // --json: the same listing, with hidden_versions and listing.
  auto doc = ParseJson(RunDrain(Args({"status", "--json"}, db)));
  CHECK(doc.at("listing") == "default");
  CHECK(doc.at("hidden_versions") == hidden);
  CHECK(doc.at("show_recent_seconds") == 86400.0);
  CHECK(JsonVersions(doc) == listed);
  CHECK(doc.at("latest_version") == "latest");
  auto all_doc = ParseJson(RunDrain(Args({"status", "--json", "--all"}, db)));
  CHECK(all_doc.at("listing") == "all");
  CHECK(all_doc.at("hidden_versions") == 0);
  CHECK(all_doc.at("versions").size() == ManyVersions::kTotal);

  // A hidden version named on the command line is answered like any other (exit 0: safe).
  const std::string old = ManyVersions::Old(17);
  ProcessResult one = RunDrain(Args({"status", old}, db));
  INFO(one.Describe());
  CHECK(one.exit_code == 0);
  auto rows = ParseTable(one.out);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["VERSION"] == old);
  CHECK(rows[0]["RETIRE"] == "safe");
  CHECK(one.out.find("hidden") == std::string::npos);
  auto named = ParseJson(RunDrain(Args({"status", old, "busy-1", "--json"}, db)));
  CHECK(named.at("listing") == "named");
  CHECK(named.at("hidden_versions") == 0);
  CHECK(JsonVersions(named) == std::set<std::string>{old, "busy-1"});
  CHECK(VersionIn(named, old).at("safe_to_retire") == true);

  // --retirable is a filter of its own: every safe-to-retire version, hidden or not.
  ProcessResult retirable = RunDrain(Args({"status", "--retirable"}, db));
  INFO(retirable.Describe());
  CHECK(retirable.exit_code == 0);
  auto names = Lines(retirable.out);
  CHECK(names.size() == ManyVersions::kRetirable);
  std::set<std::string> retire(names.begin(), names.end());
  CHECK(retire.count(old) == 1);
  CHECK(retire.count("recent-1") == 1);
  CHECK(retire.count("finished-now") == 1);
  for (const char* no : {"busy-1", "busy-2", "busy-3", "intake-now", "latest"}) CHECK(retire.count(no) == 0);
  CHECK(Lines(RunDrain(Args({"status", "--retirable", "--all"}, db)).out) == names);
}

TEST_CASE("status --show-recent moves what is listed; a bad value is a clear error, exit 2", "[cli][status][listing]") {
  TestDatabase db;
  LoadManyVersions(db);
  auto listed = ManyVersions::Listed();

  // 1h: recent-1 and recent-2 (registered 2h ago, drained) are no longer recent.
  ProcessResult shorter = RunDrain(With(Args({"status"}, db), {"--show-recent", "1h"}));
  INFO(shorter.Describe());
  REQUIRE(shorter.exit_code == 0);
  listed.erase("recent-1");
  listed.erase("recent-2");
  CHECK(TableVersions(shorter.out) == listed);
  CHECK(Lines(shorter.out).back().rfind("994 versions hidden: safe to retire, not registered within --show-recent 1h,", 0) == 0);

  // 4 days: every registration is recent, nothing is hidden.
  auto longer = ParseJson(RunDrain(With(Args({"status", "--json"}, db), {"--show-recent", "4d"})));
  CHECK(longer.at("hidden_versions") == 0);
  CHECK(longer.at("versions").size() == ManyVersions::kTotal);
  CHECK(longer.at("show_recent_seconds") == 345600.0);

  for (const char* bad : {"soon", "0s", "-1h", "24", ""}) {
    for (const char* command : {"status", "serve", "wait"}) {
      std::vector<std::string> args = Args({command}, db);
      if (std::string(command) == "wait") args.push_back("busy-1");
      args.insert(args.end(), {"--show-recent", bad});
      ProcessResult r = RunDrain(args);
      INFO(command << " --show-recent \"" << bad << "\": " << r.Describe());
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("invalid --show-recent") != std::string::npos);
      CHECK(r.out.empty());
    }
  }
}
