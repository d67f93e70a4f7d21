// Which version, queue and schema names are accepted (lib/core/names.h).
#include <catch2/catch.hpp>

#include "names.h"

using namespace dbos_drain;

TEST_CASE("ordinary and unusual names are accepted", "[names]") {
  for (std::string ok : {"v1", "PATCHING_ENABLED", "7f9c1e", "a b", "quote\"d", "it's", "new\nline", "tab\there",
                         "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80", "x"}) {
    INFO(ok);
    CHECK(CheckName(ok, "version").empty());
  }
}

TEST_CASE("a name is 1..255 bytes", "[names]") {
  CHECK_THAT(CheckName("", "version"), Catch::Contains("version name is empty"));
  CHECK(CheckName(std::string(255, 'a'), "version").empty());
  CHECK_THAT(CheckName(std::string(256, 'a'), "queue"), Catch::Contains("queue name is 256 bytes; at most 255"));
  // 255 bytes counted as bytes, not characters: 128 two-byte characters are 256 bytes.
  std::string accents;
  for (int i = 0; i < 128; ++i) accents += "\xc3\xa9";
  CHECK_FALSE(CheckName(accents, "version").empty());
}

TEST_CASE("NUL bytes are refused", "[names]") {
  CHECK_THAT(CheckName(std::string("v1\0x", 4), "version"), Catch::Contains("NUL"));
  CHECK_THAT(CheckName(std::string(1, '\0'), "version"), Catch::Contains("NUL"));
}

TEST_CASE("invalid UTF-8 is refused", "[names]") {
  for (std::string bad : {std::string("\xff"), std::string("\xc0\x80"), std::string("\xe0\x80\x80"),
                          std::string("\xed\xa0\x80"), std::string("\xe2\x82"), std::string("\xf4\x90\x80\x80"),
                          std::string("\x80"), std::string("ok\xc3"), std::string("\xf8\x88\x80\x80\x80")}) {
    INFO("bytes: " << bad.size());
    CHECK_FALSE(IsValidUtf8(bad));
    CHECK_THAT(CheckName(bad, "version"), Catch::Contains("not valid UTF-8"));
  }
  CHECK(IsValidUtf8(""));
  CHECK(IsValidUtf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF, the last code point
  CHECK(IsValidUtf8("\xee\x80\x80"));      // U+E000, just past the surrogates
}
