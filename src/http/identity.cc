// Who a request speaks for. Proven identity first (what the transport
// proved, then HTTP Basic), and it must match the MAC the request claims:
// a device may only ask for itself.
#include <cstring>

#include "http/exchange.h"
#include "otad/authorize.h"
#include "otad/credentials.h"
#include "otad/digest.h"

namespace otad {
namespace {

void name_device(Conn& c, const Mac& m) { memcpy(c.mac, m.str().c_str(), sizeof c.mac); }

// Checks an Authorization: Basic header against the registry, or the value
// already verified on this connection. Returns the MAC proven, or null after
// naming the user (if it was a MAC) in *user_mac.
// Every user costs one PBKDF2 unless its credential is in the cache: an
// unknown MAC and a device without a password are checked against a dummy
// hash on the same path, so they take the time of a wrong password.
const char* basic_proof(const Exchange& x, std::string_view authz, std::optional<Mac>* user_mac) {
  static VerifiedCache verified;  // across connections (one reactor thread)
  uint8_t tag[32];
  sha256_bytes({reinterpret_cast<const uint8_t*>(authz.data()), authz.size()}, tag);
  if (x.basic.mac[0] && ct_equal(tag, x.basic.tag, sizeof x.basic.tag)) return x.basic.mac;
  std::string user, pass;
  if (!basic_credentials(authz, &user, &pass)) return nullptr;
  *user_mac = parse_mac(user);
  const Device* d = *user_mac ? x.ctx.registry->find(**user_mac) : nullptr;
  const bool has_password = d && !d->password_hash.empty();
  const std::string& stored = has_password ? d->password_hash : password_hash_dummy();
  // The cache's key binds the credential to the hash it matched.
  uint8_t key[32];
  const std::string keyed = std::string(authz) + '\n' + stored;
  sha256_bytes({reinterpret_cast<const uint8_t*>(keyed.data()), keyed.size()}, key);
  const int64_t now = now_ms();
  if (!verified.hit(key, now)) {
    // A user without a password is checked against the dummy all the same:
    // the same work, and never a pass.
    if (!password_verify(stored, pass) || !has_password) return nullptr;
    verified.put(key, now);
  }
  memcpy(x.basic.mac, (*user_mac)->str().c_str(), sizeof x.basic.mac);
  memcpy(x.basic.tag, tag, sizeof x.basic.tag);
  return x.basic.mac;
}

}  // namespace

std::optional<Mac> claimed_mac(const Exchange& x, std::string* problem) {
  problem->clear();
  std::optional<Mac> claim;
  std::string_view first;
  for (int i = 0; i < x.req.header_count; ++i) {
    const std::string_view name = x.req.headers[i].name.in(x.buf);
    if (!iequals(name, "x-ESP8266-STA-MAC") && !iequals(name, "x-ESP32-STA-MAC") &&
        !iequals(name, "x-ESP32-BASE-MAC")) {
      continue;
    }
    std::optional<Mac> m = parse_mac(x.req.headers[i].value.in(x.buf));
    if (!m) {
      *problem = "malformed MAC header " + std::string(name);
      return std::nullopt;
    }
    if (claim && *claim != *m) {
      *problem = "MAC headers disagree: " + std::string(first) + " " + claim->str() + ", " + std::string(name) + " " +
                 m->str();
      return std::nullopt;
    }
    if (!claim) first = name;
    claim = m;
  }
  return claim;
}

bool identify(const Exchange& x, HttpResponse* out, DeviceReport* report) {
  Conn& c = x.c;
  std::string problem;
  std::optional<Mac> claimed = claimed_mac(x, &problem);
  if (!problem.empty()) {
    out->fail(400, "");
    out->set_note("%s", problem.c_str());
    out->text = out->note;  // the device's developer reads it too (the note lives as long as the response)
    return false;
  }
  const char* proven = c.proven.proof != Proof::None ? c.proven.mac : nullptr;
  bool found_auth;
  std::string_view authz = x.header("authorization", &found_auth);
  const bool basic_allowed = c.auth == Auth::Password || c.auth == Auth::Any;
  if (!proven && basic_allowed && found_auth) {
    std::optional<Mac> user;
    proven = basic_proof(x, authz, &user);
    if (!proven) {
      if (user) name_device(c, *user);
      if (x.ctx.ops) x.ctx.ops->auth_failed(c);  // absent only in the driver unit tests
      out->fail(401, "wrong or unknown credentials");
      out->header("WWW-Authenticate", "Basic realm=\"otad\", charset=\"UTF-8\"");
      return false;
    }
  }
  if (c.auth != Auth::None && !proven) {
    if (claimed) name_device(c, *claimed);
    out->fail(401, "credentials required");
    if (basic_allowed) out->header("WWW-Authenticate", "Basic realm=\"otad\", charset=\"UTF-8\"");
    return false;
  }
  if (proven) {
    const Mac pm = *parse_mac(proven);
    name_device(c, pm);
    if (claimed && *claimed != pm) {
      out->fail(403, "");
      out->set_note("MAC header %s differs from the authenticated identity %s", claimed->str().c_str(), proven);
      return false;
    }
    // The registry may have changed since the handshake: revoked is revoked.
    const Grant g = authorize(*x.ctx.registry, pm);
    if (!g) {
      out->fail(403, g.access == Access::Disabled ? g.why : "device no longer registered");
      return false;
    }
    report->mac = pm;
    report->proven = true;
    return true;
  }
  if (claimed) {
    name_device(c, *claimed);
    char why[224];
    if (c.verify_link && !x.ctx.ops->mac_proven_by_link(c, *claimed, why, sizeof why)) {
      out->fail(403, "MAC header not proven by the link layer");
      out->set_note("MAC not proven by the link layer: %s", why);
      return false;
    }
    report->mac = *claimed;
  }
  return true;
}

}  // namespace otad
