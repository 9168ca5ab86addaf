#include "otad/tokens.h"

#include <cctype>

#include "otad/credentials.h"
#include "otad/digest.h"
#include "otad/fsutil.h"
#include "otad/ini_strict.h"
#include "otad/strict_num.h"

namespace otad {
namespace {

void token_hash(const uint8_t salt[16], std::string_view token, uint8_t out[32]) {
  std::string buf(reinterpret_cast<const char*>(salt), 16);
  buf.append(token);
  sha256_bytes({reinterpret_cast<const uint8_t*>(buf.data()), buf.size()}, out);
}

bool name_ok(std::string_view n) {
  if (n.empty() || n.size() > 32) return false;
  for (char c : n) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

}  // namespace

Result<TokenStore> TokenStore::load(const std::string& path, std::vector<std::string>* errors) {
  TokenStore ts;
  if (!file_exists(path)) return ts;
  std::string section;
  IniCallbacks cb;
  cb.on_section = [&](std::string_view s, int) -> std::string {
    section = std::string(s);
    return s == "tokens" ? "" : "expected [tokens]";
  };
  cb.on_key = [&](std::string_view s, std::string_view k, std::string_view v, int) -> std::string {
    if (s != "tokens") return "key outside [tokens]";
    if (!name_ok(k)) return "token names hold letters, digits and - _ . only (at most 32)";
    for (const Entry& e : ts.entries_) {
      if (e.name == k) return "token listed twice";
    }
    // sha256$<salt: 32 hex>$<hash: 64 hex>
    Entry e;
    e.name = std::string(k);
    if (v.size() != 7 + 32 + 1 + 64 || v.substr(0, 7) != "sha256$" || v[39] != '$' ||
        !from_hex(v.substr(7, 32), e.salt, 16) || !from_hex(v.substr(40, 64), e.hash, 32)) {
      return "expected sha256$<salt hex>$<hash hex>";
    }
    ts.entries_.push_back(e);
    return "";
  };
  const size_t before = errors->size();
  ini_parse_path(path, 1 << 20, cb, errors);
  if (errors->size() != before) return Err(errors->at(before));
  return ts;
}

Status TokenStore::save(const std::string& path) const {
  std::string s =
      "; otad admin tokens: a name and a salted SHA-256 per token, never the token.\n"
      "; Written by otactl admin token add|revoke; otad re-reads it on SIGHUP.\n[tokens]\n";
  for (const Entry& e : entries_) {
    s += e.name + " = sha256$" + to_hex(e.salt, 16) + "$" + to_hex(e.hash, 32) + "\n";
  }
  return write_file_atomic(path, s, 0600);
}

std::string TokenStore::verify(std::string_view token) const {
  const Entry* found = nullptr;
  for (const Entry& e : entries_) {
    uint8_t h[32];
    token_hash(e.salt, token, h);
    if (ct_equal(h, e.hash, sizeof h) && !found) found = &e;
  }
  return found && !token.empty() ? found->name : "";
}

Result<std::string> TokenStore::add(const std::string& name) {
  if (!name_ok(name)) return Err("token names hold letters, digits and - _ . only (at most 32)");
  for (const Entry& e : entries_) {
    if (e.name == name) return Err("a token named " + name + " exists; revoke it first");
  }
  uint8_t raw[32];
  Entry e;
  e.name = name;
  if (Status r = random_bytes(raw, sizeof raw); !r) return Err(r.error());
  if (Status r = random_bytes(e.salt, sizeof e.salt); !r) return Err(r.error());
  const std::string token = to_hex(raw, sizeof raw);
  token_hash(e.salt, token, e.hash);
  entries_.push_back(e);
  return token;
}

bool TokenStore::revoke(const std::string& name) {
  return std::erase_if(entries_, [&](const Entry& e) { return e.name == name; }) > 0;
}

std::vector<std::string> TokenStore::names() const {
  std::vector<std::string> v;
  for (const Entry& e : entries_) v.push_back(e.name);
  return v;
}

std::string_view bearer_token(std::string_view a) {
  if (a.size() < 7 || !(a.substr(0, 7) == "Bearer " || a.substr(0, 7) == "bearer ")) return {};
  a.remove_prefix(7);
  while (!a.empty() && a.front() == ' ') a.remove_prefix(1);
  while (!a.empty() && a.back() == ' ') a.remove_suffix(1);
  return a;
}

}  // namespace otad
