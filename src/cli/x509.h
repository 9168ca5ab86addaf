// Keys and certificates for the gateway CA, the server and devices, made
// with mbedTLS's x509write: ECDSA P-256, SHA-256.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "otad/result.h"

namespace otad::cli {

struct Pem {
  std::string cert, key;
};

Result<Pem> make_ca(const std::string& name, int years);
// Signed by the CA (PEM key + cert). sans: DNS names, IPv4 or IPv6 literals.
Result<Pem> make_leaf(const Pem& ca, const std::string& cn, const std::vector<std::string>& sans,
                      bool server, int years);
// A 16-byte serial number that DER encodes minimally as a positive INTEGER:
// its first byte is 0x01..0x7F. (A leading 0x00 is padding that OpenSSL 3
// refuses, "illegal padding": the certificate would not load there.)
void serial_from_random(const uint8_t random[16], uint8_t serial[16]);
// A CRL (PEM) signed by the CA: the entries of previous (a PEM text holding
// an earlier CRL, or ""), kept with their dates, plus the certificates of
// revoked (PEM), each listed once. Valid for ten years; rewritten at each
// revocation.
Result<std::string> make_crl(const Pem& ca, const std::string& previous, const std::vector<std::string>& revoked);
// The certificate's DER bytes.
Result<std::string> cert_der(const std::string& pem);
// SHA-256 of the certificate's DER, hex: what devices.ini pins.
Result<std::string> cert_fingerprint(const std::string& pem);

}  // namespace otad::cli
