#include <gtest/gtest.h>

#include <string>

#include "otad/log.h"

namespace {

std::string esc(const std::string& in, size_t cap = 256) {
  std::string out(cap, '\0');
  out.resize(otad::log_escape(in.data(), in.size(), out.data(), cap));
  return out;
}

TEST(LogEscape, Table) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"plain words: 30aea4041d8c", "plain words: 30aea4041d8c"},
      {"line\nforged line", "line\\x0aforged line"},
      {"cr\r tab\t esc\x1b[2J del\x7f", "cr\\x0d tab\\x09 esc\\x1b[2J del\\x7f"},
      {"K\xc3\xbc" "che \xe2\x82\xac \xf0\x9f\x98\x80", "K\xc3\xbc" "che \xe2\x82\xac \xf0\x9f\x98\x80"},  // valid UTF-8 stays
      {"\xff\xfe bad \xc3", "\\xff\\xfe bad \\xc3"},      // invalid and cut-off sequences
      {"\xc0\xaf overlong", "\\xc0\\xaf overlong"},       // an overlong '/' is not UTF-8
      {std::string("nul\0after", 9), "nul"},              // C strings end at NUL
  };
  for (const Case& c : cases) EXPECT_EQ(esc(c.in), c.out) << c.in;
}

TEST(LogEscape, NeverOverflows) {
  const std::string in(100, '\n');
  for (size_t cap = 1; cap < 40; ++cap) {
    std::string out = esc(in, cap);
    EXPECT_LT(out.size(), cap);
    EXPECT_EQ(out.size() % 4, 0u);  // whole escapes only
  }
}

}  // namespace
