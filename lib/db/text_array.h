// A PostgreSQL text[] literal for a query parameter: libpqxx 6 has no array parameter type, so
// the history probe (report_query.h, BuildHistoryProbeQuery's $1) gets its versions as text.
//
// Contract: every element double-quoted, `"` and `\` backslash-escaped, comma-separated in
// order, in braces: {"v1","a\"b"}; no elements: {}. Parsed back by PostgreSQL (`$1::text[]`)
// the array equals `values` exactly, whatever bytes they contain (NUL aside: libpq cannot send it).
#pragma once

#include <string>
#include <vector>

namespace dbos_drain {

std::string TextArrayLiteral(const std::vector<std::string>& values);

}  // namespace dbos_drain
