// Durations as typed on a command line, and ages as shown to people (lib/core/duration.h).
#include <catch2/catch.hpp>

#include "duration.h"

using namespace dbos_drain;
using std::chrono::milliseconds;

TEST_CASE("ParseDuration accepts <integer><unit> parts", "[duration]") {
  CHECK(ParseDuration("90s") == milliseconds(90'000));
  CHECK(ParseDuration("10m") == milliseconds(600'000));
  CHECK(ParseDuration("2h") == milliseconds(7'200'000));
  CHECK(ParseDuration("1h30m") == milliseconds(5'400'000));
  CHECK(ParseDuration("500ms") == milliseconds(500));
  CHECK(ParseDuration("1d") == milliseconds(86'400'000));
  CHECK(ParseDuration("1m30s250ms") == milliseconds(90'250));
  CHECK(ParseDuration("0s") == milliseconds(0));
  CHECK(ParseDuration("007s") == milliseconds(7000));
}

TEST_CASE("ParseDuration rejects everything else", "[duration]") {
  for (const char* bad : {"", "10", "s", "ms", "1x", "1M", "1H", "-1s", "+1s", "1.5s", " 1s", "1s ", "1 s", "1h30",
                          "1sm", "1mss", "h1", "1e3s", "１s"}) {
    INFO("input: \"" << bad << "\"");
    CHECK_FALSE(ParseDuration(bad));
  }
}

TEST_CASE("ParseDuration refuses overflow instead of wrapping", "[duration]") {
  CHECK_FALSE(ParseDuration("99999999999999999999s"));
  CHECK_FALSE(ParseDuration("9223372036854775807h"));
  CHECK_FALSE(ParseDuration("9223372036854775807ms1ms"));
  CHECK(ParseDuration("106751991167d") == milliseconds(106751991167LL * 86'400'000LL));  // near the limit, fits
  CHECK_FALSE(ParseDuration(std::string(65, '1') + "s"));  // absurdly long input
}

TEST_CASE("FormatAge shows the two largest non-zero units", "[duration]") {
  CHECK(FormatAge(0) == "0ms");
  CHECK(FormatAge(999) == "999ms");
  CHECK(FormatAge(-5) == "0ms");
  CHECK(FormatAge(1000) == "1s");
  CHECK(FormatAge(45'000) == "45s");
  CHECK(FormatAge(61'000) == "1m 1s");
  CHECK(FormatAge((2 * 3600 + 5 * 60) * 1000LL) == "2h 5m");
  CHECK(FormatAge((2 * 3600 + 5 * 60 + 59) * 1000LL + 999) == "2h 5m");
  CHECK(FormatAge(2 * 3600 * 1000LL) == "2h");
  CHECK(FormatAge((2 * 3600 + 7) * 1000LL) == "2h");  // "2h 0m" would say nothing useful
  CHECK(FormatAge((3 * 86400 + 4 * 3600) * 1000LL) == "3d 4h");
}

TEST_CASE("FormatDuration prints what ParseDuration reads back", "[duration]") {
  CHECK(FormatDuration(milliseconds(0)) == "0s");
  CHECK(FormatDuration(milliseconds(10'000)) == "10s");
  CHECK(FormatDuration(milliseconds(90'000)) == "1m30s");
  CHECK(FormatDuration(milliseconds(3'600'000)) == "1h");
  CHECK(FormatDuration(milliseconds(1500)) == "1500ms");
  for (int64_t ms : {1LL, 999LL, 1000LL, 61'000LL, 5'400'000LL, 86'400'000LL, 90'061'000LL, 3'723'500LL}) {
    INFO(ms);
    auto back = ParseDuration(FormatDuration(milliseconds(ms)));
    REQUIRE(back);
    CHECK(back->count() == ms);
  }
}
