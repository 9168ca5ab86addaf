// Semantic versions (semver.org 2.0 precedence), tolerant of a leading 'v'
// as firmware tags and esp-update-server's `ver=v1.0.2` use it. Pure.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace otad {

struct Semver {
  // Decimal digits without leading zeros, of any length up to 64: numbers
  // are compared by length, then digit by digit, so 99999999999999999999999
  // is a version newer than any that fits a machine word, never an overflow.
  std::string major = "0", minor = "0", patch = "0";
  std::string pre;  // pre-release identifiers, dot-separated; empty = release
};

std::optional<Semver> parse_semver(std::string_view s);
// <0, 0, >0 like strcmp; build metadata never counts.
int semver_compare(const Semver& a, const Semver& b);

}  // namespace otad
