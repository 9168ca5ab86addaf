// The certificates and keys of the HTTPS listener as devices will meet them:
// size and names of the server certificate, the key re-typed for signing in
// place, and the device MAC a client certificate names.
#include <arpa/inet.h>
#include <mbedtls/asn1.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/oid.h>

#include <cstring>
#include <string_view>
#include <utility>

#include "tls/tls_server.h"

namespace otad {
namespace {

// Bytes of the Certificate handshake message for this chain: header (4),
// list length (3), and each certificate with its own length (3).
size_t cert_message_len(const mbedtls_x509_crt& chain) {
  size_t n = 7;
  for (const mbedtls_x509_crt* c = &chain; c && c->raw.p; c = c->next) n += 3 + c->raw.len;
  return n;
}

// An address the certificate names only as an iPAddress entry, in text;
// "" if none. mbedTLS 2.x (ESP-IDF 4.x) and BearSSL match the host a device
// dialled only against dNSNames, so such a device reaching the gateway by
// that address fails its name check.
std::string address_without_dns_name(const mbedtls_x509_crt& crt) {
  for (const mbedtls_x509_sequence* s = &crt.subject_alt_names; s && s->buf.p; s = s->next) {
    if (s->buf.tag != (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) || (s->buf.len != 4 && s->buf.len != 16)) continue;
    char text[INET6_ADDRSTRLEN];
    if (!inet_ntop(s->buf.len == 4 ? AF_INET : AF_INET6, s->buf.p, text, sizeof text)) continue;
    bool named = false;
    for (const mbedtls_x509_sequence* n = &crt.subject_alt_names; n && n->buf.p; n = n->next) {
      named |= n->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2) &&
               std::string_view(reinterpret_cast<const char*>(n->buf.p), n->buf.len) == text;
    }
    if (!named) return text;
  }
  return "";
}

}  // namespace

// What devices will make of the server certificate: an error when no device
// could complete a handshake, warnings for those some devices cannot.
Status check_certificate(const Config& cfg, const mbedtls_x509_crt& crt, std::vector<std::string>* warnings) {
  // mbedTLS 2.28 sends the Certificate message as one record whatever max
  // fragment length was agreed, and a device that asked for less rejects it.
  const size_t msg = cert_message_len(crt);
  if (cfg.max_fragment_length > 0 && msg > static_cast<size_t>(cfg.max_fragment_length)) {
    return Err("https: cert_file " + cfg.cert_file + ": its Certificate message is " + std::to_string(msg) +
               " bytes, more than max_fragment_length = " + std::to_string(cfg.max_fragment_length) +
               ", and mbedTLS does not split it: every handshake would fail (otactl ca init makes a "
               "certificate of about 400 bytes plus its names)");
  }
  if (std::string ip = address_without_dns_name(crt); !ip.empty()) {
    warnings->push_back("https: cert_file " + cfg.cert_file + " names " + ip +
                        " only as an IP address entry: devices on mbedTLS 2.x (ESP-IDF 4.x) or BearSSL that "
                        "reach the gateway at that address will fail their name check (otactl ca init --host "
                        "writes it both ways)");
  }
  // The largest record size it does not fit, if any.
  size_t too_small = 0;
  for (size_t mfl : {512, 1024, 2048}) too_small = msg > mfl ? mfl : too_small;
  if (too_small) {
    warnings->push_back("https: cert_file " + cfg.cert_file + ": its Certificate message is " + std::to_string(msg) +
                        " bytes: a device asking for records of " + std::to_string(too_small) +
                        " bytes or less (BearSSL's setBufferSizes, mbedTLS's max fragment length) will fail its "
                        "handshake; a certificate with fewer names or no chain fits");
  }
  return Ok();
}

// The device MAC a client certificate names: subject CN, else a SAN dNSName.
std::optional<Mac> cert_mac(const mbedtls_x509_crt* crt) {
  for (const mbedtls_x509_name* n = &crt->subject; n; n = n->next) {
    if (n->oid.p && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
      auto m = parse_mac(std::string_view(reinterpret_cast<const char*>(n->val.p), n->val.len));
      if (m) return m;
    }
  }
  for (const mbedtls_x509_sequence* s = &crt->subject_alt_names; s && s->buf.p; s = s->next) {
    auto m = parse_mac(std::string_view(reinterpret_cast<const char*>(s->buf.p), s->buf.len));
    if (m) return m;
  }
  return std::nullopt;
}

#if MBEDTLS_VERSION_NUMBER < 0x03000000
// Re-types a parsed EC key as MBEDTLS_PK_ECDSA so that ECDSA works on it in
// place. mbedTLS 2.x signs and verifies with a key of the parsed type (ECKEY)
// through a fresh copy of it, which rebuilds the table of multiples of the
// curve's base point every time: for the server key, a fifth of a handshake's
// CPU (ServerKeyExchange); for the client CA, a quarter of each device
// certificate's check. An ECDSA-typed key keeps that table from its first
// use on (MBEDTLS_ECP_FIXED_POINT_OPTIM, on in Debian's build); mbedTLS 3.x
// ships the tables precomputed. Single-threaded, so the shared table needs
// no lock. Other key types are left as they are.
int ecdsa_in_place(mbedtls_pk_context& key) {
  if (mbedtls_pk_get_type(&key) != MBEDTLS_PK_ECKEY) return 0;
  mbedtls_pk_context ecdsa;
  mbedtls_pk_init(&ecdsa);
  int r = mbedtls_pk_setup(&ecdsa, mbedtls_pk_info_from_type(MBEDTLS_PK_ECDSA));
  if (r == 0) r = mbedtls_ecdsa_from_keypair(mbedtls_pk_ec(ecdsa), mbedtls_pk_ec(key));
  if (r == 0) std::swap(key, ecdsa);
  mbedtls_pk_free(&ecdsa);
  return r;
}
#endif

}  // namespace otad
