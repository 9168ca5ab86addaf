#include "otad/imagegen.h"

#include <cstring>

#include "otad/digest.h"
#include "otad/inspect.h"

namespace otad {
namespace {

void put32(std::vector<uint8_t>& v, size_t o, uint32_t x) {
  for (int i = 0; i < 4; ++i) v[o + i] = static_cast<uint8_t>(x >> (8 * i));
}

// Deterministic filler so that two versions differ and compress poorly.
void fill(std::vector<uint8_t>& v, size_t from, size_t to, uint64_t seed) {
  uint64_t s = seed | 1;
  for (size_t i = from; i < to; ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    v[i] = static_cast<uint8_t>(s);
  }
}

uint64_t seed_of(const ImageSpec& spec) {
  uint8_t h[32];
  std::string k = spec.chip + "/" + spec.project + "/" + spec.version;
  sha256_bytes({reinterpret_cast<const uint8_t*>(k.data()), k.size()}, h);
  // Little-endian on every host: the same spec makes the same bytes on
  // s390x as on x86.
  uint64_t s = 0;
  for (int i = 7; i >= 0; --i) s = s << 8 | h[i];
  return s;
}

// Writes segment headers + XOR checksum for an image at `off` whose segments
// are already filled in; returns the offset just past the checksum.
size_t finish_segments(std::vector<uint8_t>& v, size_t off, size_t hdr, const Segment* segs,
                       int n) {
  uint8_t x = 0xEF;
  size_t pos = off + hdr;
  for (int i = 0; i < n; ++i) {
    put32(v, pos, segs[i].addr);
    put32(v, pos + 4, segs[i].len);
    pos += 8;
    for (size_t k = 0; k < segs[i].len; ++k) x ^= v[pos + k];
    pos += segs[i].len;
  }
  const size_t rel = pos - off;
  const size_t ck = pos + (15 - rel % 16);
  v[ck] = x;
  return ck + 1;
}

struct ChipLayout {
  const char* chip;
  int id;
  uint32_t drom, iram, entry;
};
constexpr ChipLayout kLayouts[] = {
    {"esp32", 0, 0x3F400020, 0x40080000, 0x40080404},
    {"esp32s2", 2, 0x3F000020, 0x40022000, 0x40022404},
    {"esp32c3", 5, 0x3C000020, 0x40380000, 0x40380404},
    {"esp32s3", 9, 0x3C000020, 0x40374000, 0x40374404},
    {"esp32c2", 12, 0x3C000020, 0x40380000, 0x40380404},
    {"esp32c6", 13, 0x42800020, 0x40800000, 0x40800404},
    {"esp32h2", 16, 0x42800020, 0x40800000, 0x40800404},
};

void put_str(std::vector<uint8_t>& v, size_t o, const std::string& s, size_t max) {
  memcpy(v.data() + o, s.data(), std::min(s.size(), max - 1));
}

Result<std::vector<uint8_t>> make_esp32(const ImageSpec& spec, const ChipLayout& L, size_t size) {
  const uint32_t iram_len = size >= 16384 ? 4096 : 64;
  const size_t base = 24 + 16 + iram_len;
  if (size < base + 48 + 256) return Err("size too small for an ESP32 app image");
  // Choose the DROM length so checksum + SHA-256 end exactly at `size`.
  const uint32_t drom_len = static_cast<uint32_t>(size - 48 - base);
  std::vector<uint8_t> v(size, 0);
  v[0] = 0xE9;
  v[1] = 2;
  v[2] = 2;     // DIO
  v[3] = 0x20;  // 4 MB, 40 MHz
  put32(v, 4, L.entry);
  v[8] = 0xEE;  // WP pin disabled, as esptool writes
  v[12] = static_cast<uint8_t>(L.id);
  v[13] = static_cast<uint8_t>(L.id >> 8);
  v[23] = 1;  // hash appended
  const size_t drom = 24 + 8;
  fill(v, drom, drom + drom_len, seed_of(spec));
  // esp_app_desc_t at image offset 32.
  memset(v.data() + drom, 0, 256);
  put32(v, drom, 0xABCD5432);
  put32(v, drom + 4, spec.secure_version);
  put_str(v, drom + 16, spec.version, 32);
  put_str(v, drom + 48, spec.project, 32);
  put_str(v, drom + 80, "12:00:00", 16);
  put_str(v, drom + 96, "Nov 21 2026", 16);
  put_str(v, drom + 112, "otad-imagegen", 32);
  const size_t iram = drom + drom_len + 8;
  fill(v, iram, iram + iram_len, seed_of(spec) ^ 0x5555);
  const Segment segs[2] = {{L.drom, drom_len}, {L.iram, iram_len}};
  const size_t end = finish_segments(v, 0, 24, segs, 2);
  sha256_bytes({v.data(), end}, v.data() + end);
  v.resize(end + 32);
  return v;
}

// Arduino layout: a small eboot-like image at 0, the sketch at 0x1000.
Result<std::vector<uint8_t>> make_esp8266(const ImageSpec& spec, size_t size) {
  const uint32_t iram_len = 4096;
  if (size < 0x1000 + 64 + iram_len + 256) return Err("size too small for an ESP8266 image");
  std::vector<uint8_t> v(size, 0xFF);
  const uint32_t boot_len = 1024;
  v[0] = 0xE9;
  v[1] = 1;
  v[2] = 2;
  v[3] = 0x40;
  put32(v, 4, 0x4010F29C);
  fill(v, 16, 16 + boot_len, seed_of(spec) ^ 0xB007);
  const Segment boot{0x4010F000, boot_len};
  finish_segments(v, 0, 8, &boot, 1);
  const size_t app = 0x1000;
  const uint32_t irom_len = static_cast<uint32_t>(size - app - 16 - 8 - 8 - iram_len);
  v[app] = 0xE9;
  v[app + 1] = 2;
  v[app + 2] = 2;
  v[app + 3] = 0x40;
  put32(v, app + 4, 0x401000E0);
  fill(v, app + 16, app + 16 + irom_len, seed_of(spec));
  const std::string tag = "otad-imagegen " + spec.project + " " + spec.version;
  memcpy(v.data() + app + 32, tag.data(), std::min<size_t>(tag.size(), 64));
  fill(v, app + 24 + irom_len, app + 24 + irom_len + iram_len, seed_of(spec) ^ 0x5555);
  const Segment segs[2] = {{0x40201010, irom_len}, {0x40100000, iram_len}};
  const size_t end = finish_segments(v, app, 8, segs, 2);
  v.resize(end);
  if (spec.esp8266_crc_patch) {
    // As Arduino core 3 does, after the XOR checksum was computed: length and
    // CRC-32 of the file (the CRC reads these 8 bytes as zero).
    const uint32_t crc = esp8266_eboot_crc(v);
    put32(v, 0x1010, static_cast<uint32_t>(v.size()));
    put32(v, 0x1014, crc);
  }
  return v;
}

}  // namespace

Result<std::vector<uint8_t>> make_image(const ImageSpec& spec) {
  if (spec.size > (64u << 20)) return Err("size larger than 64 MiB");
  if (spec.version.size() > 31 || spec.project.size() > 31) {
    return Err("project and version are at most 31 characters (esp_app_desc_t)");
  }
  const size_t size = static_cast<size_t>((spec.size + 15) / 16 * 16);
  if (spec.chip == "esp8266") return make_esp8266(spec, size);
  for (const ChipLayout& L : kLayouts) {
    if (spec.chip == L.chip) return make_esp32(spec, L, size);
  }
  return Err("unknown chip '" + spec.chip + "' (esp8266, esp32, esp32s2, esp32c3, esp32s3, "
             "esp32c2, esp32c6, esp32h2)");
}

}  // namespace otad
