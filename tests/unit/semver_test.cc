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

TEST(Semver, NumbersOfAnyLengthNeverOverflow) {
  // Past 2^64: still versions, ordered by their digits, not wrapped or refused.
  const char* chain[] = {"18446744073709551615.0.0", "18446744073709551616.0.0", "99999999999999999999999.0.0",
                         "100000000000000000000000.0.0", "100000000000000000000000.0.1",
                         "100000000000000000000000.99999999999999999999999.0"};
  for (size_t i = 0; i + 1 < std::size(chain); ++i) {
    auto a = parse_semver(chain[i]), b = parse_semver(chain[i + 1]);
    ASSERT_TRUE(a && b) << chain[i];
    EXPECT_LT(semver_compare(*a, *b), 0) << chain[i] << " < " << chain[i + 1];
  }
  EXPECT_GT(semver_compare(*parse_semver("99999999999999999999999.0.0"), *parse_semver("2.0.0")), 0);
  EXPECT_LT(semver_compare(*parse_semver("1.0.0-99999999999999999999999"), *parse_semver("1.0.0-100000000000000000000000")), 0);
  EXPECT_FALSE(parse_semver(std::string(65, '9') + ".0.0"));  // a bound on the work, not on the value's size
  EXPECT_TRUE(parse_semver(std::string(64, '9') + ".0.0"));
}
