// Shared by the end-to-end tests of the dbos-drain binary.
#pragma once

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "clock.h"
#include "process.h"
#include "test_database.h"

namespace dbos_drain::clitest {

using testing::BackgroundProcess;
using testing::ProcessOptions;
using testing::ProcessResult;
using testing::RunDrain;
using testing::Since;
using testing::TestDatabase;
using testing::Workflow;

inline std::vector<std::string> Args(std::initializer_list<std::string> head, const TestDatabase& db) {
  std::vector<std::string> out(head);
  out.push_back("--database-url");
  out.push_back(db.url());
  if (db.schema() != "dbos") {
    out.push_back("--schema");
    out.push_back(db.schema());
  }
  return out;
}

inline nlohmann::json ParseJson(const ProcessResult& r) {
  INFO(r.Describe());
  nlohmann::json j;
  REQUIRE_NOTHROW(j = nlohmann::json::parse(r.out));
  return j;
}

inline const nlohmann::json& VersionIn(const nlohmann::json& report, const std::string& version) {
  for (const auto& v : report.at("versions")) {
    if (v.at("version") == version) return v;
  }
  FAIL("version " << version << " not in " << report.dump());
  throw std::logic_error("unreachable");
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Reads a table printed by `dbos-drain status`: the header's column names and their start
// offsets give each row's cells (cells may hold spaces, like "2h 5m").
inline std::vector<std::map<std::string, std::string>> ParseTable(const std::string& text) {
  auto lines = Lines(text);
  REQUIRE_FALSE(lines.empty());
  const std::string& header = lines[0];
  std::vector<std::pair<std::string, size_t>> columns;
  for (size_t i = 0; i < header.size();) {
    if (header[i] == ' ') {
      ++i;
      continue;
    }
    size_t end = header.find(' ', i);
    if (end == std::string::npos) end = header.size();
    columns.emplace_back(header.substr(i, end - i), i);
    i = end;
  }
  std::vector<std::map<std::string, std::string>> rows;
  for (size_t l = 1; l < lines.size() && !lines[l].empty(); ++l) {
    std::map<std::string, std::string> row;
    for (size_t c = 0; c < columns.size(); ++c) {
      size_t from = columns[c].second;
      size_t to = c + 1 < columns.size() ? columns[c + 1].second : std::string::npos;
      std::string cell = from < lines[l].size() ? lines[l].substr(from, to == std::string::npos ? to : to - from) : "";
      while (!cell.empty() && cell.back() == ' ') cell.pop_back();
      row[columns[c].first] = cell;
    }
    rows.push_back(row);
  }
  return rows;
}

}  // namespace dbos_drain::clitest
