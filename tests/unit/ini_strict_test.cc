#include <gtest/gtest.h>

#include "otad/ini_strict.h"

using namespace otad;

namespace {
struct Seen {
  std::vector<std::string> keys;  // "line:section.key=value"
  std::vector<std::string> errors;
  bool ok;
};
Seen parse(const std::string& text) {
  Seen s;
  IniCallbacks cb;
  cb.on_key = [&](std::string_view sec, std::string_view k, std::string_view v, int line) {
    s.keys.push_back(std::to_string(line) + ":" + std::string(sec) + "." + std::string(k) + "=" + std::string(v));
    return std::string();
  };
  s.ok = ini_parse_text("f", text, cb, &s.errors);
  return s;
}
}  // namespace

TEST(IniStrict, LineNumbersAndValues) {
  Seen s = parse("; c\n[a]\n\nk = v ; comment\r\nk2=x y\n[b]\nk = 1\n");
  EXPECT_TRUE(s.ok);
  std::vector<std::string> want = {"4:a.k=v", "5:a.k2=x y", "7:b.k=1"};
  EXPECT_EQ(s.keys, want);
}

TEST(IniStrict, LineLimit) {
  std::string at_limit = "k=" + std::string(kIniMaxLine - 2, 'x');
  Seen s = parse("[a]\n" + at_limit + "\n");
  EXPECT_TRUE(s.ok);
  ASSERT_EQ(s.keys.size(), 1u);
  EXPECT_EQ(s.keys[0].size(), std::string("2:a.k=").size() + kIniMaxLine - 2);
  Seen t = parse("[a]\n" + at_limit + "x\nz = 1\n");
  EXPECT_FALSE(t.ok);
  ASSERT_EQ(t.errors.size(), 1u);
  EXPECT_EQ(t.errors[0].rfind("f:2: line is 199 characters long", 0), 0u) << t.errors[0];
  // Nothing of the long line reached the handler; the next line still did.
  EXPECT_EQ(t.keys, std::vector<std::string>{"3:a.z=1"});
}

TEST(IniStrict, SectionNameLimitAndNul) {
  Seen s = parse("[" + std::string(50, 's') + "]\nk=1\n");
  EXPECT_FALSE(s.ok);
  Seen n = parse(std::string("[a]\nk=1\0\n", 9));
  EXPECT_FALSE(n.ok);
}

TEST(IniStrict, DuplicatesAndContinuations) {
  Seen d = parse("[a]\nk=1\n[b]\nk=2\n[a]\nk=3\n");
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.errors[0].find("f:6: a.k: given more than once"), std::string::npos) << d.errors[0];
  Seen c = parse("[a]\nk=1\n  more\n");
  EXPECT_FALSE(c.ok);
}
