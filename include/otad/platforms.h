// Platforms: what a group of devices runs. Each has a chip (an image for
// another chip is refused), an optional `match` name (the project name in
// its images' app description, or in their file names) and an optional
// max_size. Kept in <catalog dir>/platforms.ini, written like the manifest.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "otad/result.h"

namespace otad {

struct Platform {
  std::string name;
  std::string chip;   // "esp8266", "esp32", "esp32c3", ...; "" = any
  std::string match;  // project name that identifies its images; "" = its own name
  uint64_t max_size = 0;  // 0 = the catalog's max_image_size
  bool operator==(const Platform&) const = default;
};

std::string platforms_path(const std::string& dir);
// A missing file is no platforms; anything malformed is an error (file:line).
Result<std::vector<Platform>> platforms_read(const std::string& path, std::vector<std::string>* errors);
Status platforms_write(const std::string& path, const std::vector<Platform>& platforms);
const Platform* platform_find(const std::vector<Platform>& all, std::string_view name);
// Letters, digits and . _ - + only, at most 64: names and versions are file
// and URL material.
bool catalog_name_ok(std::string_view s);

}  // namespace otad
