#include "otad/strict_num.h"

namespace otad {

Result<int64_t> parse_int_strict(std::string_view s, int64_t min, int64_t max) {
  if (s.empty()) return Err("empty value, expected a number");
  for (char c : s) {
    if (c < '0' || c > '9') return Err("'" + std::string(s) + "' is not a plain base-10 number");
  }
  if (s.size() > 1 && s[0] == '0') {
    return Err("'" + std::string(s) + "' has a leading zero (write plain base-10)");
  }
  if (s.size() > 18) return Err("'" + std::string(s) + "' is out of range");
  int64_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  if (v < min || v > max) {
    return Err(std::string(s) + " is out of range " + std::to_string(min) + ".." +
               std::to_string(max));
  }
  return v;
}

Result<bool> parse_bool_strict(std::string_view s) {
  if (s == "yes" || s == "true" || s == "on" || s == "1") return true;
  if (s == "no" || s == "false" || s == "off" || s == "0") return false;
  return Err("'" + std::string(s) + "' is not a boolean (yes/no, true/false, on/off, 1/0)");
}

std::string to_hex(const uint8_t* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool from_hex(std::string_view s, uint8_t* out, size_t n) {
  if (s.size() != 2 * n) return false;
  for (size_t i = 0; i < n; ++i) {
    int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

std::vector<std::string> split_words(std::string_view v) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && (v[i] == ' ' || v[i] == ',')) ++i;
    size_t j = i;
    while (j < v.size() && v[j] != ' ' && v[j] != ',') ++j;
    if (j > i) out.emplace_back(v.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace otad
