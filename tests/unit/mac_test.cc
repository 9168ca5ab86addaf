#include <gtest/gtest.h>

#include "otad/mac.h"

using namespace otad;

TEST(Mac, AcceptedSpellings) {
  const char* good[] = {"30aea4041d8c", "30AEA4041D8C", "30:AE:A4:04:1D:8C", "30:ae:a4:04:1d:8c",
                        "30-ae-a4-04-1d-8c", "30-AE-A4-04-1D-8C"};
  for (const char* s : good) {
    auto m = parse_mac(s);
    ASSERT_TRUE(m.has_value()) << s;
    EXPECT_EQ(m->str(), "30aea4041d8c") << s;
  }
}

TEST(Mac, Rejected) {
  const char* bad[] = {"",
                       "30aea4041d8",
                       "30aea4041d8cc",
                       "30aea4041d8g",
                       "30:ae:a4:04:1d",
                       "30:ae-a4:04:1d:8c",  // mixed separators
                       "30.ae.a4.04.1d.8c",
                       "30:ae:a4:04:1d:8c:",
                       "3:0ae:a4:04:1d:8c",
                       " 30aea4041d8c"};
  for (const char* s : bad) EXPECT_FALSE(parse_mac(s).has_value()) << s;
}

TEST(Mac, OrderAndHash) {
  auto a = *parse_mac("000000000001"), b = *parse_mac("000000000002");
  EXPECT_LT(a, b);
  EXPECT_EQ(a.as_u64(), 1u);
  EXPECT_NE(MacHash()(a), MacHash()(b));
}
