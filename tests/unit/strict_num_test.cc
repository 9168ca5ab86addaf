#include <gtest/gtest.h>

#include "otad/strict_num.h"

using namespace otad;

TEST(StrictNum, Table) {
  struct Case {
    const char* in;
    int64_t min, max;
    bool ok;
    int64_t want;
  };
  const Case cases[] = {
      {"0", 0, 10, true, 0},        {"10", 0, 10, true, 10},     {"11", 0, 10, false, 0},
      {"10abc", 0, 100, false, 0},  {"0443", 0, 1000, false, 0}, {"", 0, 10, false, 0},
      {"-1", -5, 5, false, 0},      {"+1", 0, 5, false, 0},      {" 1", 0, 5, false, 0},
      {"0x10", 0, 100, false, 0},   {"1e3", 0, 10000, false, 0}, {"65535", 1, 65535, true, 65535},
      {"9999999999999999999999", 0, INT64_MAX, false, 0},       {"5", 6, 9, false, 0},
  };
  for (const Case& c : cases) {
    auto r = parse_int_strict(c.in, c.min, c.max);
    EXPECT_EQ(r.ok(), c.ok) << c.in;
    if (c.ok && r.ok()) {
      EXPECT_EQ(*r, c.want) << c.in;
    }
    if (!c.ok && !r.ok()) {
      EXPECT_FALSE(r.error().empty());
    }
  }
}

TEST(StrictNum, Bool) {
  for (const char* t : {"yes", "true", "on", "1"}) EXPECT_TRUE(*parse_bool_strict(t)) << t;
  for (const char* f : {"no", "false", "off", "0"}) EXPECT_FALSE(*parse_bool_strict(f)) << f;
  for (const char* bad : {"Yes", "y", "2", ""}) EXPECT_FALSE(parse_bool_strict(bad).ok()) << bad;
}

TEST(StrictNum, Hex) {
  uint8_t b[3];
  EXPECT_TRUE(from_hex("0aFf10", b, 3));
  EXPECT_EQ(to_hex(b, 3), "0aff10");
  EXPECT_FALSE(from_hex("0aFf1", b, 3));
  EXPECT_FALSE(from_hex("0aFg10", b, 3));
}
