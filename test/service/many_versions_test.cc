// `dbos-drain serve` with 1,000 registered versions, most drained long ago (issue 13, "Many
// versions"; test/support/many_versions.h), over real HTTP and a real PostgreSQL: the default
// listing of GET /v1/versions, ?all=true, a hidden version by name, /metrics without hidden
// versions' series, --show-recent, and the sizes of the default answers (bounded by the listed
// versions, not by the 1,000 registered).
#include <catch2/catch.hpp>

#include <set>

#include "../unit/prometheus_parse.h"
#include "drain_service.h"
#include "many_versions.h"

namespace dbos_drain::servicetest {
namespace {

using prom::ParseExposition;
using testing::LoadManyVersions;
using testing::ManyVersions;
using testing::TestDatabase;

std::set<std::string> Names(const nlohmann::json& doc) {
  std::set<std::string> out;
  for (const auto& v : doc.at("versions")) out.insert(v.at("version").get<std::string>());
  return out;
}

size_t LineCount(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST_CASE("many versions: /v1/versions and /metrics carry the listed versions; every version answers by name",
          "[http][listing]") {
  TestDatabase db;
  LoadManyVersions(db);
  const auto listed = ManyVersions::Listed();
  const size_t hidden = ManyVersions::kTotal - listed.size();
  DrainService server(Config(db));

  HttpReply d = server.Get("/v1/versions");
  INFO(d.Describe());
  REQUIRE(d.status == 200);
  auto doc = d.Json();
  CHECK(doc.at("listing") == "default");
  CHECK(doc.at("hidden_versions") == hidden);
  CHECK(Names(doc) == listed);
  CHECK(doc.at("latest_version") == "latest");
  // Top-level totals are the whole report's (busy-2 and busy-3 each have one on tasks).
  CHECK(doc.at("unassigned").at("total") == 0);

  HttpReply a = server.Get("/v1/versions?all=true");
  REQUIRE(a.status == 200);
  auto all = a.Json();
  CHECK(all.at("listing") == "all");
  CHECK(all.at("hidden_versions") == 0);
  REQUIRE(all.at("versions").size() == ManyVersions::kTotal);
  CHECK(all.at("versions").at(0).at("version") == ManyVersions::Old(0));  // registration order
  for (const auto& v : all.at("versions")) {
    if (listed.count(v.at("version").get<std::string>()) == 0) CHECK(v.at("safe_to_retire") == true);
  }

  // Sizes: the default document grows with the listed versions only (8 here: ~8 KB, under 3 KB
  // each with their blockers), while every version takes ~700 KB (a drained entry is ~700 bytes).
  CHECK(d.body.size() < 3000 * listed.size());
  CHECK(a.body.size() > 500 * static_cast<size_t>(ManyVersions::kTotal));
  CHECK(a.body.size() > 50 * d.body.size());

  // A hidden version by name: its own verdict, from the same report.
  const std::string old = ManyVersions::Old(500);
  HttpReply one = server.Get("/v1/versions/" + old);
  INFO(one.Describe());
  REQUIRE(one.status == 200);
  auto v = one.Json();
  CHECK(v.at("version") == old);
  CHECK(v.at("known") == true);
  CHECK(v.at("drained") == true);
  CHECK(v.at("safe_to_retire") == true);
  CHECK(v.at("phase") == "drained");
  CHECK(v.at("blockers").empty());
  CHECK(one.body.size() < 3000);

  // Bad values of `all` are 400 with the error shape; unknown parameters are ignored.
  CHECK(IsJsonError(server.Get("/v1/versions?all=1"), 400, "bad_request"));
  CHECK(IsJsonError(server.Get("/v1/versions?all"), 400, "bad_request"));
  CHECK(server.Get("/v1/versions?page=2").Json().at("hidden_versions") == hidden);

  // /metrics: per-version series for the listed versions only, and how many of each.
  HttpReply m = server.Get("/metrics");
  REQUIRE(m.status == 200);
  auto e = ParseExposition(m.body);
  CHECK(e.Value("dbos_drain_versions", {{"listing", "listed"}}) == static_cast<double>(listed.size()));
  CHECK(e.Value("dbos_drain_versions", {{"listing", "hidden"}}) == static_cast<double>(hidden));
  std::set<std::string> with_series;
  for (const auto& s : e.samples) {
    auto it = s.labels.find("version");
    if (it != s.labels.end() && s.name != "dbos_drain_build_info") with_series.insert(it->second);
  }
  CHECK(with_series == listed);
  CHECK(e.Value("dbos_drain_version_in_flight_workflows", {{"version", "busy-1"}, {"queue", ""}, {"status", "pending"}}) == 2.0);
  CHECK(e.Value("dbos_drain_queue_in_flight_workflows", {{"queue", "tasks"}, {"status", "enqueued"}}) == 2.0);
  // Size: about 100 lines of dbos-drain's own metrics, under 40 per listed version; 1,000 versions
  // would take over 20,000.
  INFO(m.body);
  CHECK(LineCount(m.body) < 150 + 40 * listed.size());
  CHECK(m.body.size() < 60'000);

  // Flagger without metadata.version judges every version but the latest and the hidden ones
  // (safe to retire by definition): busy-* and intake-now hold it; the answer stays small.
  HttpReply f = server.Post("/v1/flagger/confirm-promotion",
                            R"({"name":"shop","namespace":"prod","phase":"Progressing","checksum":"c1","metadata":{}})");
  INFO(f.Describe());
  CHECK(f.status == 409);
  auto answer = nlohmann::json::parse(f.body.substr(f.body.find('\n') + 1));
  CHECK(answer.at("selection") == "all_but_latest");
  CHECK(answer.at("results").size() == listed.size() - 1);
  CHECK(f.body.size() < 3000 * listed.size());
  // Named, a hidden version is judged like any other: safe, so 200.
  HttpReply named = server.Post("/v1/flagger/confirm-promotion",
                                R"({"name":"shop","namespace":"prod","phase":"Progressing","checksum":"c1","metadata":{"version":")" +
                                    old + R"("}})");
  INFO(named.Describe());
  CHECK(named.status == 200);
  CHECK(named.Json().at("results").at(0).at("version") == old);
}

TEST_CASE("many versions: serve --show-recent moves what is listed", "[http][listing]") {
  TestDatabase db;
  LoadManyVersions(db);
  {
    DrainService server(Config(db, {"--show-recent", "1h"}));
    auto doc = server.Get("/v1/versions").Json();
    CHECK(doc.at("hidden_versions") == ManyVersions::kTotal - ManyVersions::Listed().size() + 2);
    CHECK(Names(doc).count("recent-1") == 0);
    CHECK(doc.at("show_recent_seconds") == 3600.0);
    auto e = ParseExposition(server.Get("/metrics").body);
    CHECK(e.Value("dbos_drain_versions", {{"listing", "listed"}}) == ManyVersions::Listed().size() - 2.0);
    CHECK_FALSE(e.Value("dbos_drain_version_drained", {{"version", "recent-1"}}));
    CHECK(server.Get("/v1/versions/recent-1").Json().at("safe_to_retire") == true);
  }
  {
    DrainService server(Config(db, {"--show-recent", "4d"}));
    auto doc = server.Get("/v1/versions").Json();
    CHECK(doc.at("hidden_versions") == 0);
    CHECK(doc.at("versions").size() == ManyVersions::kTotal);
    auto e = ParseExposition(server.Get("/metrics").body);
    CHECK(e.Value("dbos_drain_versions", {{"listing", "hidden"}}) == 0.0);
    CHECK(e.Value("dbos_drain_version_drained", {{"version", ManyVersions::Old(0)}}) == 1.0);
  }
}

}  // namespace dbos_drain::servicetest
