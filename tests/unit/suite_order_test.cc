#include <gtest/gtest.h>

#include "otad/suite_order.h"

using namespace otad;

namespace {
const std::string kEcdsaAes = "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256";
const std::string kEcdsaAes256 = "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384";
const std::string kEcdsaChacha = "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256";
const std::string kEpskChacha = "TLS-ECDHE-PSK-WITH-CHACHA20-POLY1305-SHA256";
const std::string kEpskCbc = "TLS-ECDHE-PSK-WITH-AES-128-CBC-SHA256";
const std::string kPskAes = "TLS-PSK-WITH-AES-128-GCM-SHA256";
const std::string kPskChacha = "TLS-PSK-WITH-CHACHA20-POLY1305-SHA256";
}  // namespace

TEST(SuiteOrder, Aead) {
  struct Case {
    std::string name;
    Aead want;
  } cases[] = {
      {kEcdsaAes, Aead::Aes},       {kEcdsaAes256, Aead::Aes},     {kEcdsaChacha, Aead::ChaCha},
      {kEpskCbc, Aead::Aes},        {kPskChacha, Aead::ChaCha},    {"TLS-RSA-WITH-NULL-SHA", Aead::Other},
      {"no-with-here", Aead::Other}, {"", Aead::Other},
  };
  for (const Case& c : cases) EXPECT_EQ(c.want, suite_aead(c.name)) << c.name;
}

TEST(SuiteOrder, PrefersWithinEachKeyExchangeOnly) {
  using V = std::vector<std::string>;
  struct Case {
    V in;
    Aead first;
    V want;
  } cases[] = {
      // The shipped default list: each exchange keeps its slots.
      {{kEcdsaAes, kEcdsaChacha, kEpskChacha, kEpskCbc, kPskAes, kPskChacha},
       Aead::ChaCha,
       {kEcdsaChacha, kEcdsaAes, kEpskChacha, kEpskCbc, kPskChacha, kPskAes}},
      {{kEcdsaAes, kEcdsaChacha, kEpskChacha, kEpskCbc, kPskAes, kPskChacha},
       Aead::Aes,
       {kEcdsaAes, kEcdsaChacha, kEpskCbc, kEpskChacha, kPskAes, kPskChacha}},
      // Interleaved exchanges: PSK stays ahead of ECDHE-ECDSA where it was.
      {{kPskAes, kEcdsaAes, kPskChacha, kEcdsaAes256, kEcdsaChacha},
       Aead::ChaCha,
       {kPskChacha, kEcdsaChacha, kPskAes, kEcdsaAes, kEcdsaAes256}},
      // Stable among suites of one cipher.
      {{kEcdsaAes, kEcdsaAes256, kEcdsaChacha}, Aead::Aes, {kEcdsaAes, kEcdsaAes256, kEcdsaChacha}},
      {{kEcdsaAes256, kEcdsaAes, kEcdsaChacha}, Aead::ChaCha, {kEcdsaChacha, kEcdsaAes256, kEcdsaAes}},
      // Nothing to move.
      {{kEcdsaAes}, Aead::ChaCha, {kEcdsaAes}},
      {{kEcdsaAes, kPskChacha}, Aead::ChaCha, {kEcdsaAes, kPskChacha}},
      {{}, Aead::ChaCha, {}},
  };
  for (const Case& c : cases) EXPECT_EQ(c.want, prefer_aead(c.in, c.first));
}

TEST(SuiteOrder, MeasuresBothCiphers) {
  CipherSpeeds sp = measure_cipher_speeds(32 * 1024, 1);
  EXPECT_GT(sp.aes128gcm, 0);
  EXPECT_GT(sp.chachapoly, 0);
}
