// A manifest entry made in code for the decision and fleet tests: its SHA-256
// and MD5 are `fill` repeated, so a test names an image by one character.
#pragma once
#include <string>

#include "otad/catalog.h"

inline otad::ManifestEntry release_entry(const char* platform, const char* version, char fill,
                                         const char* chip = "esp32") {
  otad::ManifestEntry e;
  e.sha256 = std::string(64, fill);
  e.md5 = std::string(32, fill);
  e.platform = platform;
  e.version = version;
  e.kind = "app";
  e.chip = chip;
  e.size = 4096;
  e.seq = static_cast<uint64_t>(fill);
  return e;
}
