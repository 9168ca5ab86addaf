// What an uploaded image is for, detected without guessing: the platform and
// version it belongs to and where each came from. The sources, in order:
//   given     the uploader said so (query platform=/version=, otactl flags);
//   app_desc  the ESP-IDF app description (project, version), unless it is
//             the framework's own (Arduino's lib builder, or a version that
//             is the IDF's own git describe);
//   marker    a string the sketch embeds: OTAD_VERSION=<version> (and
//             optionally OTAD_PLATFORM=<name>);
//   filename  <match name>[-_]v<version> in the uploaded file's name.
// A given value wins. Otherwise two different candidates, or none, refuse
// the image with what was found and how to settle it. Pure: no I/O.
#pragma once
#include <span>
#include <string>
#include <vector>

#include "otad/inspect.h"
#include "otad/platforms.h"

namespace otad {

struct DetectRequest {
  std::string platform, version;  // given; "" = detect
  std::string filename;           // the uploaded file's name, if known
  bool filesystem = false;        // kind=filesystem (SPIFFS, LittleFS, FAT)
};

struct Detection {
  const char* refusal = nullptr;  // short class of refusal, when refused
  std::string reason;             // what was found and how to settle it
  std::string platform, platform_from;
  std::string version, version_from;
  std::string kind;  // "app" or "filesystem"
  std::string chip;
  bool new_platform = false;  // the platform does not exist yet: it is made with this chip
};

Detection detect_image(std::span<const uint8_t> bytes, const ImageInfo& info, const DetectRequest& req,
                       const std::vector<Platform>& platforms, uint64_t catalog_max);

// Versions embedded as OTAD_VERSION=<v> (distinct values, in order of first
// appearance); the same for OTAD_PLATFORM=.
std::vector<std::string> embedded_values(std::span<const uint8_t> bytes, std::string_view key);

}  // namespace otad
