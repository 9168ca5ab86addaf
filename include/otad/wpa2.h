// One credential for Wi-Fi and updates: the gateway's RADIUS server
// (hostapd's internal EAP server, or FreeRADIUS) learns its users from
// otad's device registry. otad and otactl write a managed block into the
// server's user file; lines outside the block are the operator's and are
// kept as they are.
//
// MSCHAPv2 (inside PEAP or TTLS) needs the NT hash of the Wi-Fi password,
// MD4 of its UTF-16LE form, or the password itself; otad's PBKDF2 hash is of
// no use to it. The NT hash is password-equivalent for MSCHAPv2 (anyone who
// has it can log in as the device), so it lives in its own file, mode 0600,
// beside the registry, and in the user file, which is 0600 too.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "otad/devices.h"
#include "otad/mac.h"
#include "otad/result.h"

namespace otad {

// MD4 of the password as UTF-16LE. The password must be valid UTF-8 (code
// points above U+FFFF become surrogate pairs, as Windows does).
Result<std::string> nt_hash_hex(std::string_view password);

// The NT hash file: "MAC NTHASH" per line (32 hex digits), '#' comments.
using NtHashes = std::map<Mac, std::string>;
// Pure: errors name the line ("line 3: ...").
Result<NtHashes> parse_nt_hashes(std::string_view text);
std::string format_nt_hashes(const NtHashes& h);
// A missing file is empty; unreadable or malformed is an error with path:line.
Result<NtHashes> load_nt_hashes(const std::string& path);

enum class UserFileKind { Hostapd, FreeRadius };

// The managed block for every enabled device with a Wi-Fi credential:
// EAP-TLS for a device with a certificate, PEAP and TTLS with MSCHAPv2 for
// one with an NT hash. Identity = the MAC as otad writes it (30aea4041d8c).
std::string render_users(UserFileKind kind, const Registry& reg, const NtHashes& nt);

// Pure: the operator's file with the managed block put in place: between
// the BEGIN/END marker lines where they are, else first (hostapd takes the
// first line matching an identity, so an operator's catch-all "*" line
// after it does not shadow a device). Refuses a file that is not text
// lines: NULs, a line over 4096 bytes, markers unpaired or out of order.
Result<std::string> merge_managed_block(std::string_view existing, std::string_view block);

// Reads path (missing: empty), merges and writes it atomically (temp,
// fsync, rename; mode 0600) only when the content changes. Returns whether
// it changed. On any error the file is left as it was.
Result<bool> sync_user_file(const std::string& path, UserFileKind kind, const Registry& reg, const NtHashes& nt);

// The files of [wpa2]; empty = not managed.
struct Wpa2Files {
  std::string eap_user_file, radius_users_file, nt_hash_file;
  bool any() const { return !eap_user_file.empty() || !radius_users_file.empty(); }
};
// Brings every managed user file in step with the registry and the NT
// hashes; returns whether any changed (then the RADIUS server must reload).
Result<bool> wpa2_sync(const Wpa2Files& f, const Registry& reg);

}  // namespace otad
