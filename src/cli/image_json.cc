#include <cstdio>

#include "cli/cli.h"
#include "otad/strict_num.h"

namespace otad::cli {

namespace {
std::string hex32(uint32_t v) {
  char b[16];
  snprintf(b, sizeof b, "0x%08x", v);
  return b;
}
nlohmann::json str_or_null(const char* s) {
  return s && *s ? nlohmann::json(s) : nlohmann::json(nullptr);
}
}  // namespace

nlohmann::json image_json(const ImageInfo& r, const Digests& d) {
  using nlohmann::json;
  json j;
  j["kind"] = kind_name(r.kind);
  j["family"] = str_or_null(family_name(r.family));
  j["chip"] = str_or_null(r.chip);
  const EspImage* app = r.app_index >= 0 ? &r.images[r.app_index] : nullptr;
  const EspImage* first = r.image_count > 0 ? &r.images[0] : nullptr;
  // The image the verdict is about: the app if there is one, else the first.
  const EspImage* main = app ? app : first;
  j["chip_id"] = first && first->chip_id >= 0 ? json(first->chip_id) : json(nullptr);
  j["format"] = str_or_null(r.format);
  // Arduino-ESP32's app description names the lib builder, not the sketch:
  // report it as the framework and leave project/version unknown.
  const bool desc = r.has_app_desc;
  j["project"] = desc && !r.arduino ? str_or_null(r.desc.project) : json(nullptr);
  j["version"] = desc && !r.arduino ? str_or_null(r.desc.version) : json(nullptr);
  j["idf"] = desc ? str_or_null(r.desc.idf) : str_or_null(r.has_bootloader_desc ? r.bootloader_idf : "");
  j["date"] = desc ? str_or_null(r.desc.date) : str_or_null(r.has_bootloader_desc ? r.bootloader_date : "");
  j["time"] = desc ? str_or_null(r.desc.time) : json(nullptr);
  j["secure_version"] = desc ? json(r.desc.secure_version) : json(nullptr);
  j["framework"] = r.arduino ? json("arduino-esp32") : json(nullptr);
  j["framework_version"] = r.arduino ? json(r.desc.version) : json(nullptr);
  j["size"] = r.size;
  j["md5"] = d.md5_hex();
  j["sha1"] = d.sha1_hex();
  j["sha256"] = d.sha256_hex();
  j["app_offset"] = app ? json(app->offset) : json(nullptr);
  j["entry"] = main ? json(hex32(main->entry)) : json(nullptr);
  j["image_end"] = main ? json(main->image_end) : json(nullptr);
  j["trailing_bytes"] = main ? json(r.size - main->image_end) : json(nullptr);
  j["checksum_ok"] = main ? json(main->checksum_calc == main->checksum_stored) : json(nullptr);
  j["sha256_ok"] = main && main->sha256_ok >= 0 ? json(main->sha256_ok == 1) : json(nullptr);
  j["crc_patch"] = r.crc_patch < 0 ? json(nullptr) : json(r.crc_patch == 1 ? "ok" : "bad");
  j["accepted"] = r.reason == nullptr;
  j["reason"] = str_or_null(r.reason);
  j["note"] = str_or_null(r.note);
  if (desc) {
    j["app_desc"] = {{"project_name", r.desc.project}, {"version", r.desc.version},
                     {"idf_ver", r.desc.idf},          {"date", r.desc.date},
                     {"time", r.desc.time},            {"secure_version", r.desc.secure_version},
                     {"app_elf_sha256", to_hex(r.desc.elf_sha256, 32)}};
  }
  json imgs = json::array();
  for (int i = 0; i < r.image_count; ++i) {
    const EspImage& im = r.images[i];
    json segs = json::array();
    for (int k = 0; k < im.segment_count; ++k) {
      segs.push_back({hex32(im.segments[k].addr), im.segments[k].len});
    }
    imgs.push_back({{"offset", im.offset},
                    {"entry", hex32(im.entry)},
                    {"chip_id", im.chip_id >= 0 ? json(im.chip_id) : json(nullptr)},
                    {"spi_mode", im.spi_mode},
                    {"size_freq", im.size_freq},
                    {"hash_appended", im.hash_appended},
                    {"segments", segs},
                    {"checksum", {{"stored", im.checksum_stored},
                                  {"calc", im.checksum_calc},
                                  {"ok", im.checksum_stored == im.checksum_calc}}},
                    {"sha256_ok", im.sha256_ok >= 0 ? json(im.sha256_ok == 1) : json(nullptr)},
                    {"image_end", im.image_end}});
  }
  j["images"] = imgs;
  if (r.partition_count > 0) {
    json parts = json::array();
    for (int i = 0; i < r.partition_count; ++i) {
      const Partition& p = r.partitions[i];
      parts.push_back({{"label", p.label}, {"type", p.type}, {"subtype", p.subtype},
                       {"offset", hex32(p.offset)}, {"size", hex32(p.size)}});
    }
    j["partitions"] = parts;
  }
  return j;
}

}  // namespace otad::cli
