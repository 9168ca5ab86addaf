#include "cli/x509.h"

#include <arpa/inet.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>

#include <cstring>
#include <ctime>

#include "otad/credentials.h"
#include "otad/digest.h"
#include "otad/strict_num.h"

namespace otad::cli {

void serial_from_random(const uint8_t random[16], uint8_t serial[16]) {
  memcpy(serial, random, 16);
  serial[0] = static_cast<uint8_t>(1 + random[0] % 0x7F);
}

namespace {

struct Rng {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  Rng() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, nullptr, 0);
  }
  ~Rng() {
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }
};

struct Key {
  mbedtls_pk_context pk;
  Key() { mbedtls_pk_init(&pk); }
  ~Key() { mbedtls_pk_free(&pk); }
};

std::string err(const char* what, int r) {
  char b[128];
  mbedtls_strerror(r, b, sizeof b);
  return std::string(what) + ": " + b;
}

Status gen_key(Key& k, Rng& rng) {
  int r = mbedtls_pk_setup(&k.pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
  if (!r) r = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(k.pk), mbedtls_ctr_drbg_random, &rng.drbg);
  if (r) return Err(err("key generation", r));
  return Ok();
}

Status parse_key(Key& k, const std::string& pem, Rng& rng) {
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
  int r = mbedtls_pk_parse_key(&k.pk, reinterpret_cast<const unsigned char*>(pem.c_str()), pem.size() + 1,
                               nullptr, 0, mbedtls_ctr_drbg_random, &rng.drbg);
#else
  (void)rng;
  int r = mbedtls_pk_parse_key(&k.pk, reinterpret_cast<const unsigned char*>(pem.c_str()), pem.size() + 1,
                               nullptr, 0);
#endif
  if (r) return Err(err("CA key", r));
  return Ok();
}

std::string key_pem(Key& k) {
  unsigned char buf[1024];
  if (mbedtls_pk_write_key_pem(&k.pk, buf, sizeof buf) != 0) return "";
  return reinterpret_cast<char*>(buf);
}

// "YYYYMMDDhhmmss" (UTC) years from now, in 64-bit arithmetic: a CA made
// today outlives 2038, where a 32-bit time_t (armhf, mipsel) wraps and
// gmtime would date it 1901. Days to a civil date as in H. Hinnant's
// algorithm.
std::string validity(int years_from_now) {
  const int64_t t = static_cast<int64_t>(time(nullptr)) + int64_t{years_from_now} * 365 * 86400;
  int64_t days = t / 86400, secs = t % 86400;
  if (secs < 0) secs += 86400, days -= 1;
  const int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
  char b[96];  // room for any int64 the compiler can imagine; 14 used
  snprintf(b, sizeof b, "%04lld%02lld%02lld%02lld%02lld%02lld", static_cast<long long>(y), static_cast<long long>(m),
           static_cast<long long>(d), static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
           static_cast<long long>(secs % 60));
  return b;
}

// subjectAltName as DER: SEQUENCE of dNSName [2] / iPAddress [7]. Written by
// hand because mbedTLS 2.28 has no setter for it. An address goes in twice:
// as iPAddress, which OpenSSL, GnuTLS and browsers match, and as a dNSName
// holding its text, because mbedTLS 2.x (ESP-IDF 4.x, Arduino-ESP32 2.x)
// and BearSSL (ESP8266) match only dNSNames, and a device that reaches the
// gateway as https://192.168.1.1/ would otherwise fail its name check.
std::string san_der(const std::vector<std::string>& sans) {
  std::string body;
  auto put = [&body](char tag, const void* p, size_t n) {
    body += tag;
    body += static_cast<char>(n);
    body.append(static_cast<const char*>(p), n);
  };
  for (const std::string& s : sans) {
    unsigned char ip[16];
    if (inet_pton(AF_INET, s.c_str(), ip) == 1) {
      put(static_cast<char>(0x87), ip, 4);
    } else if (inet_pton(AF_INET6, s.c_str(), ip) == 1) {
      put(static_cast<char>(0x87), ip, 16);
    }
    if (s.size() < 128) put(static_cast<char>(0x82), s.data(), s.size());
  }
  std::string out(1, 0x30);
  if (body.size() < 128) {
    out += static_cast<char>(body.size());
  } else {
    out += static_cast<char>(0x82);
    out += static_cast<char>(body.size() >> 8);
    out += static_cast<char>(body.size() & 0xFF);
  }
  return out + body;
}

Result<std::string> write_cert(Key& subject, Key& issuer, const std::string& subject_name,
                               const std::string& issuer_name, bool ca, bool server,
                               const std::vector<std::string>& sans, int years, Rng& rng) {
  mbedtls_x509write_cert crt;
  mbedtls_x509write_crt_init(&crt);
  mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
  mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
  mbedtls_x509write_crt_set_subject_key(&crt, &subject.pk);
  mbedtls_x509write_crt_set_issuer_key(&crt, &issuer.pk);
  int r = mbedtls_x509write_crt_set_subject_name(&crt, subject_name.c_str());
  if (!r) r = mbedtls_x509write_crt_set_issuer_name(&crt, issuer_name.c_str());
  uint8_t random[16], serial[16];
  if (!random_bytes(random, sizeof random)) return Err("no randomness from the kernel for a serial number");
  serial_from_random(random, serial);
#if MBEDTLS_VERSION_NUMBER >= 0x03040000
  if (!r) r = mbedtls_x509write_crt_set_serial_raw(&crt, serial, sizeof serial);
#else
  mbedtls_mpi sn;
  mbedtls_mpi_init(&sn);
  if (!r) r = mbedtls_mpi_read_binary(&sn, serial, sizeof serial);
  if (!r) r = mbedtls_x509write_crt_set_serial(&crt, &sn);
  mbedtls_mpi_free(&sn);
#endif
  if (!r) r = mbedtls_x509write_crt_set_validity(&crt, validity(-1).c_str(), validity(years).c_str());
  if (!r) r = mbedtls_x509write_crt_set_basic_constraints(&crt, ca ? 1 : 0, ca ? 0 : -1);
  // Key identifiers only on the CA. A leaf is sent in every handshake, and
  // a device that asks for 512-byte records (BearSSL's smallest buffers)
  // needs the whole Certificate message in one: mbedTLS 2.28 does not split
  // it, and every byte of the leaf counts (see src/tls/server_cert.cc, cert_message_len).
  if (!r && ca) r = mbedtls_x509write_crt_set_subject_key_identifier(&crt);
  if (!r) {
    r = mbedtls_x509write_crt_set_key_usage(
        &crt, ca ? (MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN) : MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
  }
  if (!r && !ca) {
    // extendedKeyUsage: serverAuth or clientAuth.
    const char* oid = server ? MBEDTLS_OID_SERVER_AUTH : MBEDTLS_OID_CLIENT_AUTH;
    std::string eku = std::string("\x30", 1) + static_cast<char>(strlen(oid) + 2) + '\x06' +
                      static_cast<char>(strlen(oid)) + oid;
    r = mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_EXTENDED_KEY_USAGE,
                                            MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0,
                                            reinterpret_cast<const unsigned char*>(eku.data()), eku.size());
  }
  if (!r && !sans.empty()) {
    std::string der = san_der(sans);
    r = mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                            MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0,
                                            reinterpret_cast<const unsigned char*>(der.data()), der.size());
  }
  unsigned char buf[4096];
  if (!r) r = mbedtls_x509write_crt_pem(&crt, buf, sizeof buf, mbedtls_ctr_drbg_random, &rng.drbg);
  mbedtls_x509write_crt_free(&crt);
  if (r) return Err(err("certificate", r));
  return std::string(reinterpret_cast<char*>(buf));
}

}  // namespace

Result<Pem> make_ca(const std::string& name, int years) {
  Rng rng;
  Key k;
  Status s = gen_key(k, rng);
  if (!s) return Err(s.error());
  auto cert = write_cert(k, k, "CN=" + name, "CN=" + name, true, false, {}, years, rng);
  if (!cert) return Err(cert.error());
  return Pem{*cert, key_pem(k)};
}

Result<Pem> make_leaf(const Pem& ca, const std::string& cn, const std::vector<std::string>& sans, bool server,
                      int years) {
  Rng rng;
  Key cak, k;
  Status s = parse_key(cak, ca.key, rng);
  if (s) s = gen_key(k, rng);
  if (!s) return Err(s.error());
  mbedtls_x509_crt cacrt;
  mbedtls_x509_crt_init(&cacrt);
  int r = mbedtls_x509_crt_parse(&cacrt, reinterpret_cast<const unsigned char*>(ca.cert.c_str()), ca.cert.size() + 1);
  char issuer[256] = "";
  if (!r) mbedtls_x509_dn_gets(issuer, sizeof issuer, &cacrt.subject);
  mbedtls_x509_crt_free(&cacrt);
  if (r) return Err(err("CA certificate", r));
  auto cert = write_cert(k, cak, "CN=" + cn, issuer, false, server, sans, years, rng);
  if (!cert) return Err(cert.error());
  return Pem{*cert, key_pem(k)};
}

namespace {

// DER, forwards: tag, length, content.
std::string tlv(uint8_t tag, const std::string& v) {
  std::string out(1, static_cast<char>(tag));
  const size_t n = v.size();
  if (n < 0x80) {
    out += static_cast<char>(n);
  } else {
    std::string len;
    for (size_t m = n; m; m >>= 8) len.insert(len.begin(), static_cast<char>(m & 0xff));
    out += static_cast<char>(0x80 | len.size());
    out += len;
  }
  return out + v;
}

// UTCTime before 2050, GeneralizedTime from then on (RFC 5280 4.1.2.5).
std::string der_time(const std::string& yyyymmddhhmmss) {
  if (yyyymmddhhmmss.compare(0, 4, "2050") < 0) return tlv(0x17, yyyymmddhhmmss.substr(2) + "Z");
  return tlv(0x18, yyyymmddhhmmss + "Z");
}

std::string x509_time_text(const mbedtls_x509_time& t) {
  char b[32];
  snprintf(b, sizeof b, "%04d%02d%02d%02d%02d%02d", t.year, t.mon, t.day, t.hour, t.min, t.sec);
  return b;
}

std::string pem_block(const char* label, const std::string& der) {
  const std::string head = std::string("-----BEGIN ") + label + "-----\n", foot = std::string("-----END ") + label + "-----\n";
  std::string out(der.size() * 2 + 128, '\0');
  size_t olen = 0;
  if (mbedtls_pem_write_buffer(head.c_str(), foot.c_str(), reinterpret_cast<const unsigned char*>(der.data()),
                               der.size(), reinterpret_cast<unsigned char*>(out.data()), out.size(), &olen) != 0) {
    return "";
  }
  out.resize(olen ? olen - 1 : 0);  // olen counts the terminating NUL
  return out;
}

}  // namespace

Result<std::string> make_crl(const Pem& ca, const std::string& previous, const std::vector<std::string>& revoked) {
  Rng rng;
  Key cak;
  if (Status s = parse_key(cak, ca.key, rng); !s) return Err(s.error());
  mbedtls_x509_crt cacrt;
  mbedtls_x509_crt_init(&cacrt);
  int r = mbedtls_x509_crt_parse(&cacrt, reinterpret_cast<const unsigned char*>(ca.cert.c_str()), ca.cert.size() + 1);
  const std::string issuer = r ? "" : std::string(reinterpret_cast<const char*>(cacrt.subject_raw.p), cacrt.subject_raw.len);
  mbedtls_x509_crt_free(&cacrt);
  if (r) return Err(err("CA certificate", r));
  // Entries: the previous CRL's (with their dates), then the new ones.
  std::vector<std::pair<std::string, std::string>> entries;  // serial content, revocation time
  const size_t at = previous.find("-----BEGIN X509 CRL-----");
  if (at != std::string::npos) {
    const std::string block = previous.substr(at);
    mbedtls_x509_crl old;
    mbedtls_x509_crl_init(&old);
    r = mbedtls_x509_crl_parse(&old, reinterpret_cast<const unsigned char*>(block.c_str()), block.size() + 1);
    for (const mbedtls_x509_crl_entry* e = r ? nullptr : &old.entry; e && e->serial.len; e = e->next) {
      entries.emplace_back(std::string(reinterpret_cast<const char*>(e->serial.p), e->serial.len),
                           x509_time_text(e->revocation_date));
    }
    mbedtls_x509_crl_free(&old);
    if (r) return Err(err("previous CRL", r));
  }
  const std::string now = validity(0);
  for (const std::string& pem : revoked) {
    mbedtls_x509_crt c;
    mbedtls_x509_crt_init(&c);
    r = mbedtls_x509_crt_parse(&c, reinterpret_cast<const unsigned char*>(pem.c_str()), pem.size() + 1);
    std::string serial = r ? "" : std::string(reinterpret_cast<const char*>(c.serial.p), c.serial.len);
    mbedtls_x509_crt_free(&c);
    if (r) return Err(err("revoked certificate", r));
    bool listed = false;
    for (const auto& e : entries) listed |= e.first == serial;
    if (!listed) entries.emplace_back(serial, now);
  }
  const std::string ecdsa_sha256 = tlv(0x30, tlv(0x06, "\x2a\x86\x48\xce\x3d\x04\x03\x02"));
  std::string list;
  for (const auto& [serial, when] : entries) list += tlv(0x30, tlv(0x02, serial) + der_time(when));
  // cRLNumber: the time of issue, so each CRL numbers above the last.
  std::string number;
  for (int64_t n = static_cast<int64_t>(time(nullptr)); n; n >>= 8) number.insert(number.begin(), static_cast<char>(n & 0xff));
  if (static_cast<uint8_t>(number[0]) & 0x80) number.insert(number.begin(), '\0');
  const std::string ext = tlv(0xa0, tlv(0x30, tlv(0x30, tlv(0x06, "\x55\x1d\x14") + tlv(0x04, tlv(0x02, number)))));
  std::string tbs = tlv(0x02, "\x01") + ecdsa_sha256 + issuer + der_time(now) + der_time(validity(10));
  if (!list.empty()) tbs += tlv(0x30, list);
  tbs = tlv(0x30, tbs + ext);
  uint8_t hash[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
  sha256_bytes({reinterpret_cast<const uint8_t*>(tbs.data()), tbs.size()}, hash);
  size_t sig_len = 0;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
  r = mbedtls_pk_sign(&cak.pk, MBEDTLS_MD_SHA256, hash, 32, sig, sizeof sig, &sig_len, mbedtls_ctr_drbg_random, &rng.drbg);
#else
  r = mbedtls_pk_sign(&cak.pk, MBEDTLS_MD_SHA256, hash, 32, sig, &sig_len, mbedtls_ctr_drbg_random, &rng.drbg);
#endif
  if (r) return Err(err("signing the CRL", r));
  const std::string bits = std::string(1, '\0') + std::string(reinterpret_cast<const char*>(sig), sig_len);
  return pem_block("X509 CRL", tlv(0x30, tbs + ecdsa_sha256 + tlv(0x03, bits)));
}

Result<std::string> cert_der(const std::string& pem) {
  mbedtls_x509_crt c;
  mbedtls_x509_crt_init(&c);
  int r = mbedtls_x509_crt_parse(&c, reinterpret_cast<const unsigned char*>(pem.c_str()), pem.size() + 1);
  std::string der = r ? "" : std::string(reinterpret_cast<const char*>(c.raw.p), c.raw.len);
  mbedtls_x509_crt_free(&c);
  if (r) return Err(err("certificate", r));
  return der;
}

Result<std::string> cert_fingerprint(const std::string& pem) {
  auto der = cert_der(pem);
  if (!der) return Err(der.error());
  uint8_t fp[32];
  sha256_bytes({reinterpret_cast<const uint8_t*>(der->data()), der->size()}, fp);
  return to_hex(fp, 32);
}

}  // namespace otad::cli
