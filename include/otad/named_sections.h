// Files of [<kind> NAME] sections, one item each (platforms.ini,
// rollouts.ini): NAME is a catalog name, given once; keys fill the item of
// the section they are in. Errors are file:line, as everywhere.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "otad/fsutil.h"
#include "otad/ini_strict.h"
#include "otad/platforms.h"

namespace otad {

// on_key returns an error reason, or "" to accept. A missing file is no items.
template <class T>
Result<std::vector<T>> read_named_sections(
    const std::string& path, std::string_view kind, std::string T::* name,
    const std::function<std::string(T&, std::string_view key, std::string_view value)>& on_key,
    std::vector<std::string>* errors) {
  std::vector<T> out;
  if (!file_exists(path)) return out;
  const std::string prefix = std::string(kind) + " ";
  const std::string want = "[" + std::string(kind) + " NAME]";
  std::string cur;
  IniCallbacks cb;
  cb.on_section = [&](std::string_view s, int) -> std::string {
    cur.clear();
    if (s.substr(0, prefix.size()) != prefix) return "expected " + want;
    std::string_view n = s.substr(prefix.size());
    if (!catalog_name_ok(n)) return std::string(kind) + " names hold letters, digits and . _ - + only";
    for (const T& t : out) {
      if (t.*name == n) return std::string(kind) + " listed twice";
    }
    cur = std::string(s);
    out.push_back({});
    out.back().*name = std::string(n);
    return "";
  };
  cb.on_key = [&](std::string_view s, std::string_view k, std::string_view v, int) -> std::string {
    if (cur.empty() || s != cur) return "key outside a " + want + " section";
    return on_key(out.back(), k, v);
  };
  const size_t before = errors->size();
  ini_parse_path(path, 1 << 20, cb, errors);
  if (errors->size() != before) return Err(errors->at(before));
  return out;
}

}  // namespace otad
