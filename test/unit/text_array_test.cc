// The history probe's text[] parameter (lib/db/text_array.h). test/db/history_probe_test.cc
// sends hostile names through it to a real server; these pin the text itself.
#include <catch2/catch.hpp>

#include "text_array.h"

using dbos_drain::TextArrayLiteral;

TEST_CASE("text[] literal: quoted, escaped, in order", "[text-array]") {
  CHECK(TextArrayLiteral({}) == "{}");
  CHECK(TextArrayLiteral({"v1"}) == "{\"v1\"}");
  CHECK(TextArrayLiteral({"v1", "v2", "v1"}) == "{\"v1\",\"v2\",\"v1\"}");
  CHECK(TextArrayLiteral({""}) == "{\"\"}");
  // What array syntax would otherwise read: NULL, braces, commas, spaces, quotes, backslashes.
  CHECK(TextArrayLiteral({"NULL", "a,b", "{x}", " sp "}) == "{\"NULL\",\"a,b\",\"{x}\",\" sp \"}");
  CHECK(TextArrayLiteral({"a\"b", "c\\d", "\\\""}) == "{\"a\\\"b\",\"c\\\\d\",\"\\\\\\\"\"}");
  CHECK(TextArrayLiteral({"line\nbreak", "ü 日本"}) == "{\"line\nbreak\",\"ü 日本\"}");
}
