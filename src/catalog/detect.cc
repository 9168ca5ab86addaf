#include "otad/detect.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace otad {
namespace {

bool version_char(uint8_t c) { return isalnum(c) || c == '.' || c == '-' || c == '+' || c == '_'; }

// The hex digits after the last "-g" of a git describe string ("" if none).
std::string_view git_hash(std::string_view v) {
  size_t g = v.rfind("-g");
  if (g == std::string_view::npos) return {};
  std::string_view h = v.substr(g + 2);
  size_t n = 0;
  while (n < h.size() && isxdigit(static_cast<unsigned char>(h[n]))) ++n;
  return n >= 6 ? h.substr(0, n) : std::string_view{};
}

// The app description's version is the framework's, not the firmware's:
// IDF fills it with the IDF's own git describe when the project sets none.
bool framework_version(const AppDesc& d) {
  std::string_view v = d.version, idf = d.idf;
  if (v.empty() || v == idf) return true;
  std::string_view hv = git_hash(v), hi = git_hash(idf);
  if (!hv.empty() && !hi.empty()) {
    const size_t n = std::min(hv.size(), hi.size());
    if (hv.substr(0, n) == hi.substr(0, n)) return true;
  }
  return false;
}

std::string lower(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return o;
}

// "<name>[-_ .]v<version>" in a file name: the version, or "".
std::string version_in_filename(std::string_view filename, std::string_view name) {
  if (name.empty()) return {};
  size_t slash = filename.rfind('/');
  std::string base = lower(slash == std::string_view::npos ? filename : filename.substr(slash + 1));
  if (base.size() > 4 && base.compare(base.size() - 4, 4, ".bin") == 0) base.resize(base.size() - 4);
  const std::string n = lower(name);
  size_t at = base.find(n);
  while (at != std::string::npos) {
    size_t p = at + n.size();
    if (p < base.size() && (base[p] == '-' || base[p] == '_' || base[p] == ' ' || base[p] == '.')) ++p;
    if (p < base.size() && base[p] == 'v') ++p;
    size_t e = p;
    while (e < base.size() && version_char(static_cast<uint8_t>(base[e]))) ++e;
    if (e > p && isdigit(static_cast<unsigned char>(base[p])) && base.find('.', p) < e) {
      // The original spelling, not the lowercased one.
      const size_t off = (slash == std::string_view::npos ? 0 : slash + 1);
      return std::string(filename.substr(off + p, e - p));
    }
    at = base.find(n, at + 1);
  }
  return {};
}

Detection refuse(Detection d, const char* what, std::string why) {
  d.refusal = what;
  d.reason = std::move(why);
  return d;
}

struct Candidate {
  std::string value;
  const char* from;
};

// One value from the candidates, or a refusal naming them all.
bool settle(const std::vector<Candidate>& c, const char* what, const char* how, std::string* value, std::string* from,
            std::string* why) {
  if (c.empty()) {
    *why = std::string("no ") + what + " found in the image" + how;
    return false;
  }
  for (const Candidate& x : c) {
    if (x.value != c[0].value) {
      *why = std::string("two different ") + what + "s found:";
      for (const Candidate& y : c) *why += " " + y.value + " (" + y.from + ")";
      *why += std::string("; give ") + what + "= to choose";
      return false;
    }
  }
  *value = c[0].value;
  *from = c[0].from;
  return true;
}

}  // namespace

std::vector<std::string> embedded_values(std::span<const uint8_t> bytes, std::string_view key) {
  std::vector<std::string> out;
  const uint8_t* p = bytes.data();
  const uint8_t* end = p + bytes.size();
  while (p < end) {
    const void* hit = memmem(p, static_cast<size_t>(end - p), key.data(), key.size());
    if (!hit) break;
    const uint8_t* v = static_cast<const uint8_t*>(hit) + key.size();
    const uint8_t* e = v;
    while (e < end && e - v < 64 && version_char(*e)) ++e;
    std::string s(reinterpret_cast<const char*>(v), static_cast<size_t>(e - v));
    if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    p = e;
  }
  return out;
}

Detection detect_image(std::span<const uint8_t> bytes, const ImageInfo& info, const DetectRequest& req,
                       const std::vector<Platform>& platforms, uint64_t catalog_max) {
  Detection d;
  if (req.filesystem) {
    if (info.kind != ImageKind::Unknown) {
      return refuse(d, "not a filesystem", std::string("kind=filesystem, but this is an ESP ") +
                                               kind_name(info.kind) + " image");
    }
    d.kind = "filesystem";
  } else {
    if (info.reason) return refuse(d, "not an app", info.reason);
    if (info.kind != ImageKind::App) return refuse(d, "not an app", "not an ESP application image");
    d.kind = "app";
    d.chip = info.chip;
  }
  const bool desc = !req.filesystem && info.has_app_desc && !info.arduino;
  const std::vector<std::string> markers = embedded_values(bytes, "OTAD_VERSION=");
  const std::vector<std::string> platform_markers = embedded_values(bytes, "OTAD_PLATFORM=");

  // Platform: given; else the app description's project, an embedded name,
  // or a platform whose match name the file name carries.
  std::vector<Candidate> pc;
  if (!req.platform.empty()) {
    pc.push_back({req.platform, "given"});
  } else {
    if (desc && info.desc.project[0]) {
      std::string project = info.desc.project;
      const Platform* by_match = nullptr;
      for (const Platform& p : platforms) {
        if (p.match == project) by_match = &p;
      }
      pc.push_back({by_match ? by_match->name : project, "app_desc"});
    }
    for (const std::string& m : platform_markers) pc.push_back({m, "marker"});
    if (pc.empty() && !req.filename.empty()) {
      for (const Platform& p : platforms) {
        if (!version_in_filename(req.filename, p.match.empty() ? p.name : p.match).empty()) {
          pc.push_back({p.name, "filename"});
        }
      }
    }
  }
  std::string why;
  const char* no_platform =
      info.arduino ? " (Arduino-ESP32 builds name the framework, arduino-lib-builder, not the sketch; no "
                     "OTAD_PLATFORM= marker or known name in the file name)"
                   : " (no app description, OTAD_PLATFORM= marker or known name in the file name)";
  if (!settle(pc, "platform", no_platform, &d.platform, &d.platform_from, &why)) {
    return refuse(d, "platform unknown", why + "; give platform=");
  }
  if (!catalog_name_ok(d.platform)) {
    return refuse(d, "bad name", "platform '" + d.platform + "': letters, digits and . _ - + only, at most 64");
  }
  const Platform* plat = platform_find(platforms, d.platform);
  d.new_platform = !plat;
  if (req.filesystem) d.chip = plat ? plat->chip : "";

  // Version: given; else app description, marker, file name, which must agree.
  std::vector<Candidate> vc;
  if (!req.version.empty()) {
    vc.push_back({req.version, "given"});
  } else {
    if (desc && !framework_version(info.desc)) vc.push_back({info.desc.version, "app_desc"});
    for (const std::string& m : markers) vc.push_back({m, "marker"});
    const std::string match = plat && !plat->match.empty() ? plat->match : d.platform;
    std::string f = version_in_filename(req.filename, match);
    if (!f.empty()) vc.push_back({f, "filename"});
  }
  if (!settle(vc, "version",
              (desc && framework_version(info.desc)
                   ? std::string(" (the app description's version '") + info.desc.version +
                         "' is the framework's; embed OTAD_VERSION=<version> or give version=)"
                   : std::string(" (no app description version, OTAD_VERSION= marker or v<version> in the file name)"))
                  .c_str(),
              &d.version, &d.version_from, &why)) {
    return refuse(d, "version unknown", why);
  }
  if (!catalog_name_ok(d.version)) {
    return refuse(d, "bad name", "version '" + d.version + "': letters, digits and . _ - + only, at most 64");
  }
  if (plat && !plat->chip.empty() && !d.chip.empty() && plat->chip != d.chip) {
    return refuse(d, "wrong chip", "the image is for " + d.chip + "; platform " + plat->name + " is " + plat->chip);
  }
  const uint64_t max = plat && plat->max_size ? plat->max_size : catalog_max;
  if (bytes.size() > max) {
    return refuse(d, "too large", "the image is " + std::to_string(bytes.size()) + " bytes; platform " + d.platform +
                                      " takes at most " + std::to_string(max));
  }
  return d;
}

}  // namespace otad
