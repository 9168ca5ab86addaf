#include <gtest/gtest.h>

#include "otad/semver.h"

using namespace otad;

TEST(Semver, Parse) {
  struct Case {
    const char* in;
    bool ok;
  };
  const Case cases[] = {{"1.2.3", true},        {"v1.2.3", true},          {"1.2.3-rc.1", true},
                        {"1.2.3+build.5", true}, {"1.2.3-alpha+001", true}, {"1.2", false},
                        {"01.2.3", false},       {"1.2.3-", false},         {"1.2.3-01", false},
                        {"1.2.3.4", false},      {"", false},               {"v", false},
                        {"1.2.x", false},        {"1.2.3+", false}};
  for (const Case& c : cases) EXPECT_EQ(parse_semver(c.in).has_value(), c.ok) << c.in;
}

TEST(Semver, PrecedenceChain) {
  // semver.org §11 example, in increasing order.
  const char* chain[] = {"1.0.0-alpha",      "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
                         "1.0.0-beta.2",     "1.0.0-beta.11", "1.0.0-rc.1",       "1.0.0",
                         "1.0.1",            "1.1.0",         "2.0.0",            "10.0.0"};
  for (size_t i = 0; i + 1 < std::size(chain); ++i) {
    auto a = parse_semver(chain[i]), b = parse_semver(chain[i + 1]);
    ASSERT_TRUE(a && b);
    EXPECT_LT(semver_compare(*a, *b), 0) << chain[i] << " < " << chain[i + 1];
    EXPECT_GT(semver_compare(*b, *a), 0);
  }
  EXPECT_EQ(semver_compare(*parse_semver("v1.2.3+a"), *parse_semver("1.2.3+b")), 0);
}
