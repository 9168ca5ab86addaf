// Strict number parsing for config values and CLI flags: base 10 only, the
// whole string, no sign, no leading zeros ("0443" is not 443 and not octal),
// range-checked. Pure functions.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "otad/result.h"

namespace otad {

Result<int64_t> parse_int_strict(std::string_view s, int64_t min, int64_t max);

// "yes/no/true/false/on/off/1/0"
Result<bool> parse_bool_strict(std::string_view s);
// Words separated by spaces or commas ("a b", "a,b", "a, b"); empty ones dropped.
std::vector<std::string> split_words(std::string_view s);

// Lowercase hex of bytes.
std::string to_hex(const uint8_t* p, size_t n);
// Exactly 2*n hex digits (either case) into out; false otherwise.
bool from_hex(std::string_view s, uint8_t* out, size_t n);

}  // namespace otad
