// Generates well-formed firmware images: the demo catalog and test images of
// any size and version. ESP32-family apps get a valid header, an
// esp_app_desc_t, an XOR checksum and an appended SHA-256, so they pass the
// same checks a device makes. They are not runnable programs.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "otad/result.h"

namespace otad {

struct ImageSpec {
  std::string chip = "esp32";  // esp32, esp32s2, esp32c3, ... or esp8266
  std::string project = "demo";
  std::string version = "1.0.0";
  uint64_t size = 1 << 20;     // rounded up to a multiple of 16
  uint32_t secure_version = 0;
  bool esp8266_crc_patch = false;  // mimic Arduino core 3's length+CRC patch
};

Result<std::vector<uint8_t>> make_image(const ImageSpec& spec);

}  // namespace otad
