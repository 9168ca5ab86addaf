// Image inspection: what an uploaded binary is (ESP8266 or ESP32-family app,
// bootloader, partition table, merged flash image), for which chip, and what
// its esp_app_desc_t says. A pure function over bytes: no I/O, no heap.
// Layouts: protocols.md §3.3-3.4 and fixtures/firmware/SOURCES.md.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

namespace otad {

enum class ImageKind : uint8_t { Unknown, App, Bootloader, PartitionTable, Merged };
enum class Family : uint8_t { Unknown, Esp8266, Esp32 };

constexpr int kMaxSegments = 16;
constexpr int kMaxSubImages = 2;
constexpr int kMaxPartitions = 16;

struct Segment {
  uint32_t addr;
  uint32_t len;
};

// One 0xE9 image found in the file.
struct EspImage {
  uint32_t offset;  // where it starts in the file
  uint8_t spi_mode, size_freq;
  uint32_t entry;
  int chip_id;  // -1: ESP8266 layout, no extended header
  uint8_t hash_appended;
  int segment_count;
  Segment segments[kMaxSegments];
  uint8_t checksum_stored, checksum_calc;
  int sha256_ok;       // -1 none appended, 0 mismatch, 1 ok
  uint32_t image_end;  // file offset just past checksum (and hash)
};

struct AppDesc {
  uint32_t secure_version;
  char version[33], project[33], time[17], date[17], idf[33];
  uint8_t elf_sha256[32];
};

struct Partition {
  char label[17];
  uint8_t type, subtype;
  uint32_t offset, size;
};

struct ImageInfo {
  ImageKind kind;
  Family family;
  const char* chip;    // "esp8266", "esp32", "esp32c3", ... or "" when unknown
  const char* format;  // ESP8266: "v1" "v2" "v3" "gzip"; ESP32 family: "esp-idf"; else ""
  const char* reason;  // why it must not be served; nullptr when it may be
  const char* note;    // something worth telling the uploader; may be nullptr
  uint32_t size;

  int image_count;  // images[0] at file 0; images[1] the app inside, if nested
  EspImage images[kMaxSubImages];
  int app_index;  // which of images[] is the application, -1 none

  bool has_app_desc;
  AppDesc desc;
  bool arduino;  // esp_app_desc_t names the Arduino lib builder, not the sketch
  bool has_bootloader_desc;
  char bootloader_idf[33];
  char bootloader_date[25];

  int crc_patch;  // ESP8266 Arduino core >= 3 length+CRC32 at 0x1010: -1 absent, 0 bad, 1 ok

  int partition_count;
  Partition partitions[kMaxPartitions];
};

ImageInfo inspect_image(std::span<const uint8_t> data);

// eboot's CRC-32 as ESP8266 Arduino core 3 patches it in at 0x1010: over
// the whole file, with the 8 patched bytes (length, CRC) read as zero.
uint32_t esp8266_eboot_crc(std::span<const uint8_t> data);

const char* kind_name(ImageKind k);
const char* family_name(Family f);
const char* chip_name(int chip_id);  // nullptr for an unknown id
// "esp8266", or a name of the ESP32 family ("esp32", "esp32c3", ...): what
// a platform's or a device's chip may be set to.
bool is_esp_chip(std::string_view chip);

}  // namespace otad
