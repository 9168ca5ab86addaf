#include "otad/devices.h"

#include <algorithm>

#include "otad/fsutil.h"
#include "otad/ini_strict.h"
#include "otad/inspect.h"
#include "otad/platforms.h"
#include "otad/strict_num.h"

namespace otad {

Result<Registry> Registry::load(const std::string& path, std::vector<std::string>* errors) {
  Registry reg;
  if (path.empty() || !file_exists(path)) return reg;
  Device* cur = nullptr;
  std::string cur_section;
  IniCallbacks cb;
  cb.on_section = [&](std::string_view s, int) -> std::string {
    cur = nullptr;
    auto mac = parse_mac(s);
    if (!mac) return "not a MAC address (use 30aea4041d8c, 30:ae:a4:04:1d:8c or 30-ae-...)";
    if (reg.devices_.count(*mac)) return "device " + mac->str() + " listed twice";
    cur = &reg.devices_[*mac];
    cur->mac = *mac;
    cur_section = std::string(s);
    return "";
  };
  cb.on_key = [&](std::string_view s, std::string_view k, std::string_view v, int) -> std::string {
    if (!cur || s != cur_section) return "key outside a device section";
    if (k == "name") cur->name = std::string(v);
    else if (k == "platform") cur->platform = std::string(v);
    else if (k == "chip") {
      if (!is_esp_chip(v)) return "not an ESP chip (esp8266, esp32, esp32c3, ...)";
      cur->chip = std::string(v);
    }
    else if (k == "groups") {
      cur->groups = split_words(v);
      for (const std::string& g : cur->groups) {
        if (!catalog_name_ok(g)) return "group names hold letters, digits and . _ - + only";
      }
    } else if (k == "image") {
      uint8_t tmp[32];
      if (!from_hex(v, tmp, 32)) return "must be an image's SHA-256 (64 hex digits)";
      cur->image = to_hex(tmp, 32);
    } else if (k == "psk") {
      uint8_t tmp[64];
      if (v.size() % 2 || v.size() < 32 || v.size() > 128 || !from_hex(v, tmp, v.size() / 2)) {
        return "must be 16 to 64 bytes of hex";
      }
      cur->psk = to_hex(tmp, v.size() / 2);
    } else if (k == "password_hash") {
      if (v.rfind("pbkdf2-sha256$", 0) != 0) return "must be a pbkdf2-sha256$... hash (otactl device add --password)";
      cur->password_hash = std::string(v);
    } else if (k == "cert") {
      uint8_t tmp[32];
      if (!from_hex(v, tmp, 32)) return "must be the certificate's SHA-256 (64 hex digits)";
      cur->cert = to_hex(tmp, 32);
    } else if (k == "enabled") {
      auto b = parse_bool_strict(v);
      if (!b) return b.error();
      cur->enabled = *b;
    } else {
      return "unknown key";
    }
    return "";
  };
  size_t before = errors->size();
  ini_parse_path(path, 16 << 20, cb, errors);
  if (errors->size() != before) return Err(errors->at(before));
  return reg;
}

Status Registry::save(const std::string& path) const {
  std::string s =
      "; otad device registry. Managed by otactl device add/remove; edits by hand are fine.\n"
      "; It holds device secrets: keep it readable by otad only (mode 0600).\n"
      "; One [MAC] section per device; see devices.ini.example for every key.\n";
  for (const Device& d : sorted()) {
    s += "\n[" + d.mac.str() + "]\n";
    if (!d.name.empty()) s += "name = " + d.name + "\n";
    if (!d.platform.empty()) s += "platform = " + d.platform + "\n";
    if (!d.image.empty()) s += "image = " + d.image + "\n";
    if (!d.chip.empty()) s += "chip = " + d.chip + "\n";
    if (!d.groups.empty()) {
      s += "groups =";
      for (const std::string& g : d.groups) s += " " + g;
      s += "\n";
    }
    s += std::string("enabled = ") + (d.enabled ? "yes" : "no") + "\n";
    if (!d.psk.empty()) s += "psk = " + d.psk + "\n";
    if (!d.password_hash.empty()) s += "password_hash = " + d.password_hash + "\n";
    if (!d.cert.empty()) s += "cert = " + d.cert + "\n";
  }
  return write_file_atomic(path, s, 0600);
}

const Device* Registry::find(const Mac& mac) const {
  auto it = devices_.find(mac);
  return it == devices_.end() ? nullptr : &it->second;
}

void Registry::put(const Device& d) { devices_[d.mac] = d; }
bool Registry::remove(const Mac& mac) { return devices_.erase(mac) > 0; }

std::vector<Device> Registry::sorted() const {
  std::vector<Device> v;
  v.reserve(devices_.size());
  for (const auto& [mac, d] : devices_) v.push_back(d);
  std::sort(v.begin(), v.end(), [](const Device& a, const Device& b) { return a.mac < b.mac; });
  return v;
}

}  // namespace otad
