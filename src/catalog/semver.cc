#include "otad/semver.h"

namespace otad {
namespace {

bool numeric(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::optional<std::string> number(std::string_view s) {
  if (!numeric(s) || s.size() > 64 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  return std::string(s);
}

// Two numeric identifiers (digits, no leading zeros), without converting.
int compare_digits(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  const int c = a.compare(b);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

bool ident_ok(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
    if (!ok) return false;
  }
  return !(numeric(s) && s.size() > 1 && s[0] == '0');
}

}  // namespace

std::optional<Semver> parse_semver(std::string_view s) {
  if (!s.empty() && (s[0] == 'v' || s[0] == 'V')) s.remove_prefix(1);
  if (size_t plus = s.find('+'); plus != std::string_view::npos) {
    std::string_view build = s.substr(plus + 1);
    s = s.substr(0, plus);
    size_t i = 0;
    while (i <= build.size()) {
      size_t j = build.find('.', i);
      if (j == std::string_view::npos) j = build.size();
      std::string_view id = build.substr(i, j - i);
      if (id.empty()) return std::nullopt;
      for (char c : id) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-'))
          return std::nullopt;
      }
      i = j + 1;
    }
  }
  Semver v;
  std::string_view core = s;
  if (size_t dash = s.find('-'); dash != std::string_view::npos) {
    core = s.substr(0, dash);
    std::string_view pre = s.substr(dash + 1);
    size_t i = 0;
    while (i <= pre.size()) {
      size_t j = pre.find('.', i);
      if (j == std::string_view::npos) j = pre.size();
      if (!ident_ok(pre.substr(i, j - i))) return std::nullopt;
      i = j + 1;
    }
    v.pre = std::string(pre);
  }
  size_t d1 = core.find('.');
  if (d1 == std::string_view::npos) return std::nullopt;
  size_t d2 = core.find('.', d1 + 1);
  if (d2 == std::string_view::npos) return std::nullopt;
  auto a = number(core.substr(0, d1)), b = number(core.substr(d1 + 1, d2 - d1 - 1)),
       c = number(core.substr(d2 + 1));
  if (!a || !b || !c) return std::nullopt;
  v.major = std::move(*a);
  v.minor = std::move(*b);
  v.patch = std::move(*c);
  return v;
}

int semver_compare(const Semver& a, const Semver& b) {
  for (int c : {compare_digits(a.major, b.major), compare_digits(a.minor, b.minor), compare_digits(a.patch, b.patch)}) {
    if (c != 0) return c;
  }
  // A release outranks any of its pre-releases.
  if (a.pre.empty() || b.pre.empty()) {
    if (a.pre.empty() && b.pre.empty()) return 0;
    return a.pre.empty() ? 1 : -1;
  }
  std::string_view x = a.pre, y = b.pre;
  for (;;) {
    size_t i = x.find('.'), j = y.find('.');
    std::string_view p = x.substr(0, i), q = y.substr(0, j);
    bool pn = numeric(p), qn = numeric(q);
    int c = 0;
    if (pn && qn) {
      c = compare_digits(p, q);
    } else if (pn != qn) {
      c = pn ? -1 : 1;  // numeric identifiers rank below alphanumeric ones
    } else {
      c = p.compare(q);
    }
    if (c != 0) return c < 0 ? -1 : 1;
    bool xe = i == std::string_view::npos, ye = j == std::string_view::npos;
    if (xe || ye) return xe == ye ? 0 : (xe ? -1 : 1);
    x.remove_prefix(i + 1);
    y.remove_prefix(j + 1);
  }
}

}  // namespace otad
