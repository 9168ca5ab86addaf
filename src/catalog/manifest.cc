#include <map>

#include "otad/catalog.h"
#include "otad/fsutil.h"
#include "otad/ini_strict.h"
#include "otad/strict_num.h"

namespace otad {
namespace {

bool is_hex(std::string_view s, size_t n) {
  if (s.size() != n) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

using Field = std::string ManifestEntry::*;
const std::map<std::string_view, Field> kStringKeys = {
    {"platform", &ManifestEntry::platform}, {"version", &ManifestEntry::version},
    {"chip", &ManifestEntry::chip},         {"kind", &ManifestEntry::kind},
    {"project", &ManifestEntry::project},   {"md5", &ManifestEntry::md5},
    {"sha1", &ManifestEntry::sha1},         {"added", &ManifestEntry::added},
    {"md5_modes", &ManifestEntry::md5_modes},
};

// Four lowercase MD5s, comma-separated.
bool md5_list_ok(std::string_view v) {
  if (v.size() != 4 * 32 + 3) return false;
  for (int i = 0; i < 4; ++i) {
    if (!is_hex(v.substr(static_cast<size_t>(i) * 33, 32), 32)) return false;
    if (i < 3 && v[static_cast<size_t>(i) * 33 + 32] != ',') return false;
  }
  return true;
}

}  // namespace

std::string manifest_path(const std::string& dir) { return dir + "/manifest.ini"; }
std::string image_path(const std::string& dir, const std::string& sha) {
  return dir + "/" + sha + ".bin";
}

Result<std::vector<ManifestEntry>> manifest_read(const std::string& path,
                                                 std::vector<std::string>* errors) {
  // Sections are "[image N]", N the add order: inih cuts section names at 49
  // characters, so the SHA-256 is a key, not the section name.
  std::vector<ManifestEntry> out;
  std::vector<int> lines;
  std::string cur;
  IniCallbacks cb;
  cb.on_section = [&](std::string_view s, int line) -> std::string {
    cur.clear();
    if (s.substr(0, 6) != "image ") return "expected [image N]";
    auto n = parse_int_strict(s.substr(6), 1, int64_t{1} << 40);
    if (!n) return "expected [image N]: " + n.error();
    for (const ManifestEntry& e : out) {
      if (e.seq == static_cast<uint64_t>(*n)) return "image " + std::to_string(*n) + " listed twice";
    }
    cur = std::string(s);
    out.push_back({});
    out.back().seq = static_cast<uint64_t>(*n);
    lines.push_back(line);
    return "";
  };
  cb.on_key = [&](std::string_view s, std::string_view k, std::string_view v, int) -> std::string {
    if (cur.empty() || s != cur) return "key outside an [image N] section";
    ManifestEntry& e = out.back();
    if (k == "size") {
      // The same bound on every host: tcpboot announces a u32, and a
      // 32-bit gateway's offsets and sizes stay exact below 2 GiB. No ESP
      // image comes near it (their flash is at most 32 MiB).
      auto n = parse_int_strict(v, 1, kMaxManifestSize);
      if (!n) return n.error() + " (an image is at most 2 GiB - 1)";
      e.size = static_cast<uint64_t>(*n);
      return "";
    }
    if (k == "sha256") {
      if (!is_hex(v, 64)) return "not a lowercase hex SHA-256";
      for (const ManifestEntry& o : out) {
        if (&o != &e && o.sha256 == v) return "image listed twice";
      }
      e.sha256 = std::string(v);
      return "";
    }
    auto it = kStringKeys.find(k);
    if (it == kStringKeys.end()) return "unknown key";
    if (k == "md5_modes" && !md5_list_ok(v)) return "expected four lowercase MD5s, comma-separated";
    if ((k == "md5" && !is_hex(v, 32)) || (k == "sha1" && !is_hex(v, 40))) {
      return "not a lowercase hex digest of the right length";
    }
    e.*(it->second) = std::string(v);
    return "";
  };
  size_t before = errors->size();
  ini_parse_path(path, 16 << 20, cb, errors);
  for (size_t i = 0; i < out.size(); ++i) {
    const ManifestEntry& e = out[i];
    const char* missing = e.sha256.empty()     ? "sha256"
                          : e.platform.empty() ? "platform"
                          : e.version.empty()  ? "version"
                          : e.sha1.empty()     ? "sha1"
                          : e.md5.empty()      ? "md5"
                          : e.size == 0        ? "size"
                                               : nullptr;
    if (missing) {
      errors->push_back(path + ":" + std::to_string(lines[i]) + ": [image " +
                        std::to_string(e.seq) + "]: missing key " + missing);
    }
  }
  if (errors->size() != before) return Err(errors->at(before));
  return out;
}

Status manifest_write(const std::string& path, const std::vector<ManifestEntry>& entries) {
  std::string s =
      "; otad catalog manifest. Written by otactl; otad reads it at start-up and on SIGHUP.\n"
      "; One [image N] section per image (N: the order it was added); its bytes are\n"
      "; <sha256>.bin beside this file.\n";
  for (const ManifestEntry& e : entries) {
    s += "\n[image " + std::to_string(e.seq) + "]\n";
    s += "sha256 = " + e.sha256 + "\n";
    s += "platform = " + e.platform + "\n";
    s += "version = " + e.version + "\n";
    s += "size = " + std::to_string(e.size) + "\n";
    s += "md5 = " + e.md5 + "\n";
    s += "sha1 = " + e.sha1 + "\n";
    if (!e.chip.empty()) s += "chip = " + e.chip + "\n";
    if (!e.kind.empty()) s += "kind = " + e.kind + "\n";
    if (!e.project.empty()) s += "project = " + e.project + "\n";
    if (!e.added.empty()) s += "added = " + e.added + "\n";
    if (!e.md5_modes.empty()) s += "md5_modes = " + e.md5_modes + "\n";
  }
  return write_file_atomic(path, s);
}

}  // namespace otad
