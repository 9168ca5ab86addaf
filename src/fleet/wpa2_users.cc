// The RADIUS server's user file, written from the registry (see wpa2.h).
#include <cstring>

#include "otad/fsutil.h"
#include "otad/md4.h"
#include "otad/strict_num.h"
#include "otad/wpa2.h"

namespace otad {
namespace {

constexpr std::string_view kBegin = "# BEGIN otad";
constexpr std::string_view kEnd = "# END otad";
constexpr size_t kMaxLine = 4096;
constexpr size_t kMaxFile = 16 << 20;

// Appends the UTF-16LE code units of one UTF-8 string; false if it is not
// valid UTF-8 (overlong forms, surrogates and stray bytes included).
bool utf16le(std::string_view s, std::string* out) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    size_t n;
    if (c < 0x80) cp = c, n = 1;
    else if ((c & 0xe0) == 0xc0) cp = c & 0x1f, n = 2;
    else if ((c & 0xf0) == 0xe0) cp = c & 0x0f, n = 3;
    else if ((c & 0xf8) == 0xf0) cp = c & 0x07, n = 4;
    else return false;
    if (i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3f);
    }
    static const uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return false;
    auto unit = [&](uint32_t u) {
      out->push_back(static_cast<char>(u & 0xff));
      out->push_back(static_cast<char>(u >> 8));
    };
    if (cp < 0x10000) {
      unit(cp);
    } else {
      unit(0xd800 + ((cp - 0x10000) >> 10));
      unit(0xdc00 + ((cp - 0x10000) & 0x3ff));
    }
    i += n;
  }
  return true;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// "line N: why" from a pure parser -> "path:N: why".
std::string at_line(const std::string& path, const std::string& e) {
  return starts_with(e, "line ") ? path + ":" + e.substr(5) : path + ": " + e;
}

}  // namespace

Result<std::string> nt_hash_hex(std::string_view password) {
  std::string u;
  if (!utf16le(password, &u)) return Err("the Wi-Fi password is not valid UTF-8");
  uint8_t d[16];
  md4(reinterpret_cast<const uint8_t*>(u.data()), u.size(), d);
  return to_hex(d, 16);
}

Result<NtHashes> parse_nt_hashes(std::string_view text) {
  NtHashes out;
  int line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    const std::string at = "line " + std::to_string(line_no) + ": ";
    if (line.find('\0') != std::string_view::npos) return Err(at + "holds a NUL byte");
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.find_first_of(" \t");
    if (sp == std::string_view::npos) return Err(at + "expected 'MAC NTHASH'");
    auto mac = parse_mac(line.substr(0, sp));
    if (!mac) return Err(at + "not a MAC address");
    std::string_view hash = line.substr(sp);
    while (!hash.empty() && (hash.front() == ' ' || hash.front() == '\t')) hash.remove_prefix(1);
    uint8_t d[16];
    if (hash.size() != 32 || !from_hex(hash, d, 16)) return Err(at + "the NT hash must be 32 hex digits");
    if (!out.emplace(*mac, to_hex(d, 16)).second) return Err(at + "device " + mac->str() + " listed twice");
  }
  return out;
}

std::string format_nt_hashes(const NtHashes& h) {
  std::string s =
      "# Wi-Fi NT hashes (MD4 of the UTF-16LE password) for MSCHAPv2, written by otactl.\n"
      "# Password-equivalent for MSCHAPv2: keep this file mode 0600, readable by otad only.\n";
  for (const auto& [mac, hash] : h) s += mac.str() + " " + hash + "\n";
  return s;
}

Result<NtHashes> load_nt_hashes(const std::string& path) {
  if (path.empty() || !file_exists(path)) return NtHashes{};
  auto text = read_file(path, kMaxFile);
  if (!text) return Err(path + ": " + text.error());
  auto h = parse_nt_hashes(*text);
  if (!h) return Err(at_line(path, h.error()));
  return h;
}

std::string render_users(UserFileKind kind, const Registry& reg, const NtHashes& nt) {
  std::string s;
  for (const Device& d : reg.sorted()) {
    if (!d.enabled) continue;
    auto it = nt.find(d.mac);
    const bool tls = !d.cert.empty(), mschap = it != nt.end();
    if (!tls && !mschap) continue;
    const std::string id = d.mac.str();
    if (kind == UserFileKind::Hostapd) {
      // Phase 1 names every method the device may use, EAP-TLS first; the
      // phase 2 line (inside the PEAP or TTLS tunnel) carries the NT hash.
      s += "\"" + id + "\" " + (tls ? (mschap ? "TLS,PEAP,TTLS" : "TLS") : "PEAP,TTLS") + "\n";
      if (mschap) s += "\"" + id + "\" MSCHAPV2,TTLS-MSCHAPV2 hash:" + it->second + " [2]\n";
    } else if (mschap) {
      // FreeRADIUS authenticates EAP-TLS by its CA (and CRL); only the
      // MSCHAPv2 devices need an entry.
      s += "\"" + id + "\" NT-Password := 0x" + it->second + "\n";
    }
  }
  return s;
}

Result<std::string> merge_managed_block(std::string_view existing, std::string_view block) {
  if (existing.find('\0') != std::string_view::npos) return Err("holds a NUL byte: not a text file");
  std::string before, after;
  int begin = 0, end = 0, line_no = 0;
  std::string_view rest = existing;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    ++line_no;
    if (line.size() > kMaxLine) {
      return Err("line " + std::to_string(line_no) + ": " + std::to_string(line.size()) +
                 " bytes long; lines are at most 4096");
    }
    if (starts_with(line, kBegin)) {
      if (begin) return Err("line " + std::to_string(line_no) + ": a second '# BEGIN otad' marker");
      begin = line_no;
      continue;
    }
    if (starts_with(line, kEnd)) {
      if (!begin || end) return Err("line " + std::to_string(line_no) + ": '# END otad' without its BEGIN");
      end = line_no;
      continue;
    }
    if (begin && !end) continue;  // the old managed block
    (begin ? after : before).append(line).push_back('\n');
  }
  if (begin && !end) return Err("line " + std::to_string(begin) + ": '# BEGIN otad' without its END");
  std::string managed = std::string(kBegin) +
                        ": written by otad from its device registry; edits inside are replaced\n" +
                        std::string(block) + std::string(kEnd) + "\n";
  if (!begin) return managed + before;  // first, so no operator line shadows a device
  return before + managed + after;
}

Result<bool> sync_user_file(const std::string& path, UserFileKind kind, const Registry& reg, const NtHashes& nt) {
  std::string old;
  if (file_exists(path)) {
    auto r = read_file(path, kMaxFile);
    if (!r) return Err(path + ": " + r.error());
    old = std::move(*r);
  }
  auto merged = merge_managed_block(old, render_users(kind, reg, nt));
  if (!merged) return Err(at_line(path, merged.error()) + "; left as it was");
  if (*merged == old) return false;
  if (Status s = write_file_atomic(path, *merged, 0600); !s) return Err(path + ": " + s.error());
  return true;
}

Result<bool> wpa2_sync(const Wpa2Files& f, const Registry& reg) {
  if (!f.any()) return false;
  auto nt = load_nt_hashes(f.nt_hash_file);
  if (!nt) return Err(nt.error());
  bool changed = false;
  const std::pair<const std::string*, UserFileKind> files[] = {{&f.eap_user_file, UserFileKind::Hostapd},
                                                              {&f.radius_users_file, UserFileKind::FreeRadius}};
  for (const auto& [path, kind] : files) {
    if (path->empty()) continue;
    auto r = sync_user_file(*path, kind, reg, *nt);
    if (!r) return Err(r.error());
    changed |= *r;
  }
  return changed;
}

}  // namespace otad
