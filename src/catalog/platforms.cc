#include "otad/platforms.h"

#include <cctype>

#include "otad/fsutil.h"
#include "otad/named_sections.h"
#include "otad/strict_num.h"

namespace otad {

std::string platforms_path(const std::string& dir) { return dir + "/platforms.ini"; }

bool catalog_name_ok(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '+')) return false;
  }
  return true;
}

const Platform* platform_find(const std::vector<Platform>& all, std::string_view name) {
  for (const Platform& p : all) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

Result<std::vector<Platform>> platforms_read(const std::string& path, std::vector<std::string>* errors) {
  return read_named_sections<Platform>(
      path, "platform", &Platform::name,
      [](Platform& p, std::string_view k, std::string_view v) -> std::string {
        if (k == "chip") {
          p.chip = std::string(v);
        } else if (k == "match") {
          if (v.size() > 64) return "longer than 64 characters";
          p.match = std::string(v);
        } else if (k == "max_size") {
          auto n = parse_int_strict(v, 0, int64_t{1} << 32);
          if (!n) return n.error();
          p.max_size = static_cast<uint64_t>(*n);
        } else {
          return "unknown key";
        }
        return "";
      },
      errors);
}

Status platforms_write(const std::string& path, const std::vector<Platform>& platforms) {
  std::string s =
      "; otad platforms. Written by otad's admin API and otactl; one [platform NAME] per platform.\n"
      "; chip: images for another chip are refused; match: the project name its images carry;\n"
      "; max_size: the largest image it takes (bytes; 0 = catalog.max_image_size).\n";
  for (const Platform& p : platforms) {
    s += "\n[platform " + p.name + "]\n";
    if (!p.chip.empty()) s += "chip = " + p.chip + "\n";
    if (!p.match.empty()) s += "match = " + p.match + "\n";
    if (p.max_size) s += "max_size = " + std::to_string(p.max_size) + "\n";
  }
  return write_file_atomic(path, s);
}

}  // namespace otad
