#include "otad/inspect.h"

#include <cstring>

#include "otad/digest.h"

namespace otad {
namespace {

using Bytes = std::span<const uint8_t>;

constexpr uint32_t kAppDescMagic = 0xABCD5432;
constexpr uint8_t kBootloaderDescMagic = 0x50;
constexpr uint8_t kChecksumSeed = 0xEF;

uint16_t u16(Bytes d, size_t o) { return static_cast<uint16_t>(d[o] | d[o + 1] << 8); }
uint32_t u32(Bytes d, size_t o) {
  return static_cast<uint32_t>(d[o]) | static_cast<uint32_t>(d[o + 1]) << 8 |
         static_cast<uint32_t>(d[o + 2]) << 16 | static_cast<uint32_t>(d[o + 3]) << 24;
}

// Copies a NUL-padded fixed-size field; stops at the first NUL.
void copy_str(char* out, size_t out_size, Bytes d, size_t off, size_t len) {
  size_t n = 0;
  while (n < len && n + 1 < out_size && d[off + n] != 0) {
    out[n] = static_cast<char>(d[off + n]);
    ++n;
  }
  out[n] = '\0';
}

struct ChipEntry {
  int id;
  const char* name;
};
// IMAGE_CHIP_ID values (esptool targets/*.py).
constexpr ChipEntry kChips[] = {
    {0, "esp32"},      {2, "esp32s2"},   {5, "esp32c3"},  {9, "esp32s3"},  {12, "esp32c2"},
    {13, "esp32c6"},   {16, "esp32h2"},  {18, "esp32p4"}, {20, "esp32c61"}, {23, "esp32c5"},
    {25, "esp32h21"},  {28, "esp32h4"},  {31, "esp32e22"}, {32, "esp32s31"},
};

// Walks header and segments of the 0xE9 image at `off`. `extended` selects
// the 24-byte ESP32-family header (ESP8266 v1 has 8 bytes). Returns a reason
// on structural failure.
const char* walk(Bytes d, uint32_t off, bool extended, EspImage* im) {
  memset(im, 0, sizeof *im);
  im->offset = off;
  im->sha256_ok = -1;
  im->chip_id = -1;
  const size_t hdr = extended ? 24 : 8;
  if (d.size() < off + hdr) return "truncated image header";
  if (d[off] != 0xE9) return "image magic byte is not 0xE9";
  const int count = d[off + 1];
  if (count == 0 || count > kMaxSegments) return "implausible segment count";
  im->spi_mode = d[off + 2];
  im->size_freq = d[off + 3];
  im->entry = u32(d, off + 4);
  if (extended) {
    im->chip_id = u16(d, off + 12);
    im->hash_appended = d[off + 23];
  }
  size_t pos = off + hdr;
  uint8_t x = kChecksumSeed;
  for (int i = 0; i < count; ++i) {
    if (d.size() - pos < 8) return "segment header runs past the end of the file";
    const uint32_t addr = u32(d, pos), len = u32(d, pos + 4);
    pos += 8;
    if (len > d.size() - pos) return "segment runs past the end of the file";
    for (size_t k = 0; k < len; ++k) x ^= d[pos + k];
    pos += len;
    im->segments[i] = {addr, len};
  }
  im->segment_count = count;
  // The checksum byte is the last byte of a 16-byte block (esptool's
  // align_file_position(16)), counted from the image's own start.
  const size_t rel = pos - off;
  const size_t ck = pos + (15 - rel % 16);
  if (ck >= d.size()) return "image truncated before its checksum";
  im->checksum_stored = d[ck];
  im->checksum_calc = x;
  size_t end = ck + 1;
  if (extended && im->hash_appended == 1) {
    if (d.size() - end < 32) return "image truncated before its appended SHA-256";
    uint8_t h[32];
    sha256_bytes(d.subspan(off, end - off), h);
    im->sha256_ok = memcmp(h, d.data() + end, 32) == 0 ? 1 : 0;
    end += 32;
  }
  im->image_end = static_cast<uint32_t>(end);
  return nullptr;
}

void read_app_desc(Bytes d, size_t o, AppDesc* a) {
  a->secure_version = u32(d, o + 4);
  copy_str(a->version, sizeof a->version, d, o + 16, 32);
  copy_str(a->project, sizeof a->project, d, o + 48, 32);
  copy_str(a->time, sizeof a->time, d, o + 80, 16);
  copy_str(a->date, sizeof a->date, d, o + 96, 16);
  copy_str(a->idf, sizeof a->idf, d, o + 112, 32);
  memcpy(a->elf_sha256, d.data() + o + 144, 32);
}

bool has_desc_at(Bytes d, size_t img_off) {
  return d.size() >= img_off + 32 + 256 && u32(d, img_off + 32) == kAppDescMagic;
}

// Partition table entries: 32 bytes each, magic AA 50; ends at 0xFFFF or
// the EB EB MD5 entry.
void read_partitions(Bytes d, size_t off, ImageInfo* r) {
  for (size_t p = off; p + 32 <= d.size() && r->partition_count < kMaxPartitions; p += 32) {
    if (d[p] != 0xAA || d[p + 1] != 0x50) break;
    Partition& e = r->partitions[r->partition_count++];
    e.type = d[p + 2];
    e.subtype = d[p + 3];
    e.offset = u32(d, p + 4);
    e.size = u32(d, p + 8);
    copy_str(e.label, sizeof e.label, d, p + 12, 16);
  }
}

}  // namespace

// MSB-first, poly 0x04C11DB7, init all ones, no final xor (eboot's crc32).
uint32_t esp8266_eboot_crc(Bytes d) {
  uint32_t crc = 0xFFFFFFFF;
  for (size_t i = 0; i < d.size(); ++i) {
    const uint8_t byte = (i >= 0x1010 && i < 0x1018) ? 0 : d[i];
    for (int b = 7; b >= 0; --b) {
      bool bit = (crc & 0x80000000u) != 0;
      if ((byte >> b) & 1) bit = !bit;
      crc <<= 1;
      if (bit) crc ^= 0x04C11DB7;
    }
  }
  return crc;
}

namespace {

bool esp8266_entry(uint32_t entry) { return entry >= 0x40100000 && entry < 0x40110000; }

void set_app_checksum_verdict(ImageInfo* r) {
  const EspImage& app = r->images[r->app_index];
  if (app.checksum_calc != app.checksum_stored) {
    if (r->crc_patch == 1) {
      r->note = "XOR checksum differs because Arduino core 3 patched length and CRC-32 in at "
                "0x1010; the CRC verifies, so the image is intact";
    } else if (!r->reason) {
      r->reason = "XOR checksum mismatch: the image is corrupt";
    }
  }
  if (app.sha256_ok == 0 && !r->reason) r->reason = "appended SHA-256 mismatch: the image is corrupt";
}

void inspect_esp8266(Bytes d, ImageInfo* r) {
  r->family = Family::Esp8266;
  r->chip = "esp8266";
  // RTOS SDK v3 images carry an all-zero ESP32-style extended header; in a v1
  // image bytes 12..15 are the first segment's length, never zero.
  bool v3 = d.size() >= 24;
  for (size_t i = 12; v3 && i < 23; ++i) v3 = d[i] == 0;
  r->format = v3 ? "v3" : "v1";
  if (const char* why = walk(d, 0, v3, &r->images[0])) {
    r->reason = why;
    return;
  }
  if (v3) r->images[0].chip_id = -1;
  r->image_count = 1;
  r->app_index = 0;
  r->kind = ImageKind::App;
  // Arduino layout: eboot (entry 0x4010Fxxx) at 0, the sketch at 0x1000.
  if (!v3 && (r->images[0].entry & 0xFFFFF000) == 0x4010F000 && d.size() > 0x1000 + 8 &&
      d[0x1000] == 0xE9) {
    if (const char* why = walk(d, 0x1000, false, &r->images[1])) {
      r->reason = why;
      return;
    }
    r->image_count = 2;
    r->app_index = 1;
    if (d.size() >= 0x1018 && u32(d, 0x1010) == d.size()) {
      r->crc_patch = esp8266_eboot_crc(d) == u32(d, 0x1014) ? 1 : 0;
    }
  }
  set_app_checksum_verdict(r);
}

void inspect_esp8266_v2(Bytes d, ImageInfo* r) {
  r->family = Family::Esp8266;
  r->chip = "esp8266";
  r->format = "v2";
  if (d.size() < 16 || d[1] != 4) {
    r->reason = "malformed ESP8266 v2 header";
    return;
  }
  const uint32_t irom_len = u32(d, 12);
  if (irom_len > d.size() - 16) {
    r->reason = "ESP8266 v2 irom segment runs past the end of the file";
    return;
  }
  if (const char* why = walk(d, 16 + irom_len, false, &r->images[0])) {
    r->reason = why;
    return;
  }
  r->image_count = 1;
  r->app_index = 0;
  r->kind = ImageKind::App;
  r->note = "NONOS SDK v2 (user1/user2) image: for the SDK's own OTA; Arduino's updater "
            "accepts only 0xE9 or gzip images";
  set_app_checksum_verdict(r);
}

void inspect_esp32(Bytes d, ImageInfo* r) {
  if (d.size() < 24) {
    r->reason = "truncated image header";
    return;
  }
  r->chip = chip_name(u16(d, 12));
  if (!r->chip) {
    r->chip = "";
    r->reason = "0xE9 image with an unknown chip id";
    return;
  }
  r->family = Family::Esp32;
  r->format = "esp-idf";
  if (d[23] > 1) {
    r->reason = "invalid hash_appended flag";
    return;
  }
  if (const char* why = walk(d, 0, true, &r->images[0])) {
    r->reason = why;
    return;
  }
  r->image_count = 1;
  if (has_desc_at(d, 0)) {
    r->kind = ImageKind::App;
    r->app_index = 0;
  } else {
    // A merged flash image starts with the bootloader; its partition table
    // sits at flash 0x8000, i.e. file 0x7000 on ESP32 (flashed at 0x1000)
    // and file 0x8000 on the newer chips (flashed at 0).
    const size_t table = u16(d, 12) == 0 ? 0x7000 : 0x8000;
    if (d.size() > table + 32 && d[table] == 0xAA && d[table + 1] == 0x50) {
      r->kind = ImageKind::Merged;
      r->reason = "a merged flash image (bootloader, partition table, app): upload the "
                  "application on its own (it starts at app_offset)";
      read_partitions(d, table, r);
      const uint32_t delta = static_cast<uint32_t>(0x8000 - table);
      for (int i = 0; i < r->partition_count; ++i) {
        const Partition& p = r->partitions[i];
        if (p.type != 0 || p.offset < delta || p.offset - delta >= d.size()) continue;
        if (!walk(d, p.offset - delta, true, &r->images[1])) {
          r->image_count = 2;
          if (has_desc_at(d, p.offset - delta)) r->app_index = 1;
        }
        break;
      }
    } else if (d.size() > 32 + 64 && d[32] == kBootloaderDescMagic) {
      r->kind = ImageKind::Bootloader;
      r->has_bootloader_desc = true;
      copy_str(r->bootloader_idf, sizeof r->bootloader_idf, d, 32 + 8, 32);
      copy_str(r->bootloader_date, sizeof r->bootloader_date, d, 32 + 40, 24);
    } else if (d.size() <= 0x10000) {
      r->kind = ImageKind::Bootloader;
    } else {
      r->kind = ImageKind::App;
      r->app_index = 0;
      r->reason = "no esp_app_desc_t: ESP-IDF's OTA refuses such an app";
    }
    if (r->kind == ImageKind::Bootloader) {
      r->reason = "a second-stage bootloader, not an application image";
    }
  }
  if (r->app_index >= 0) {
    const uint32_t at = r->images[r->app_index].offset;
    if (has_desc_at(d, at)) {
      r->has_app_desc = true;
      read_app_desc(d, at + 32, &r->desc);
      r->arduino = strcmp(r->desc.project, "arduino-lib-builder") == 0;
      if (r->arduino) {
        r->note = "built with Arduino-ESP32: its app description names the framework, not the "
                  "sketch, so platform and version must be given";
      }
    }
    if (r->kind == ImageKind::App) set_app_checksum_verdict(r);
  }
}

}  // namespace

bool is_esp_chip(std::string_view chip) { return chip == "esp8266" || chip.substr(0, 5) == "esp32"; }

const char* chip_name(int chip_id) {
  for (const ChipEntry& c : kChips) {
    if (c.id == chip_id) return c.name;
  }
  return nullptr;
}

const char* kind_name(ImageKind k) {
  switch (k) {
    case ImageKind::App: return "app";
    case ImageKind::Bootloader: return "bootloader";
    case ImageKind::PartitionTable: return "partition-table";
    case ImageKind::Merged: return "merged";
    case ImageKind::Unknown: break;
  }
  return "unknown";
}

const char* family_name(Family f) {
  switch (f) {
    case Family::Esp8266: return "esp8266";
    case Family::Esp32: return "esp32";
    case Family::Unknown: break;
  }
  return "";
}

ImageInfo inspect_image(Bytes d) {
  ImageInfo r;
  memset(&r, 0, sizeof r);
  r.chip = "";
  r.format = "";
  r.app_index = -1;
  r.crc_patch = -1;
  if (d.size() > 0xFFFFFFFFu) {
    r.reason = "larger than 4 GiB";
    return r;
  }
  r.size = static_cast<uint32_t>(d.size());
  if (d.size() < 8) {
    r.reason = d.empty() ? "empty file" : "too short to be an image";
    return r;
  }
  if (d[0] == 0x1F && d[1] == 0x8B) {
    r.kind = ImageKind::App;
    r.family = Family::Esp8266;
    r.chip = "esp8266";
    r.format = "gzip";
    r.note = "gzip-compressed: only the ESP8266 Arduino updater unpacks these; contents not inspected";
  } else if (d[0] == 0xAA && d[1] == 0x50) {
    r.kind = ImageKind::PartitionTable;
    read_partitions(d, 0, &r);
    r.reason = "a partition table, not an application image";
  } else if (d[0] == 0xEA) {
    inspect_esp8266_v2(d, &r);
  } else if (d[0] == 0xE9) {
    if (esp8266_entry(u32(d, 4))) inspect_esp8266(d, &r);
    else inspect_esp32(d, &r);
  } else {
    r.reason = "not an ESP firmware image (unknown first byte)";
  }
  return r;
}

}  // namespace otad
