#include <gtest/gtest.h>

#include "cli/x509.h"
#include "otad/credentials.h"

using namespace otad;

TEST(Credentials, PasswordHashRoundTrip) {
  auto h = password_hash_make("correct horse");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->rfind("pbkdf2-sha256$2000$", 0), 0u) << *h;
  EXPECT_TRUE(password_verify(*h, "correct horse"));
  EXPECT_FALSE(password_verify(*h, "correct horsE"));
  EXPECT_FALSE(password_verify(*h, ""));
  auto h2 = password_hash_make("correct horse");
  EXPECT_NE(*h, *h2);  // salted
}

TEST(Credentials, MalformedStoredHashNeverVerifies) {
  const char* bad[] = {"", "plain", "pbkdf2-sha256$", "pbkdf2-sha256$x$00$00", "pbkdf2-sha256$1$zz$00",
                       "md5$1$00$00", "pbkdf2-sha256$2000$0011$abcd"};
  for (const char* b : bad) EXPECT_FALSE(password_verify(b, "x")) << b;
}

// The dummy must cost what a real hash costs: the same form and iterations,
// and no guessable password (the empty one, zeroes) passes it.
TEST(Credentials, DummyHashHasTheStoredFormAndNoKnownPassword) {
  const std::string& d = password_hash_dummy();
  EXPECT_EQ(d.rfind("pbkdf2-sha256$2000$", 0), 0u) << d;
  EXPECT_EQ(d.size(), password_hash_make("x")->size());
  EXPECT_EQ(&d, &password_hash_dummy());  // made once per process
  EXPECT_FALSE(password_verify(d, ""));
  EXPECT_FALSE(password_verify(d, std::string(32, '0')));
}

TEST(Credentials, BasicHeader) {
  std::string u, p;
  // "30aea4041d8c:s3cret:with:colons"
  ASSERT_TRUE(basic_credentials("Basic MzBhZWE0MDQxZDhjOnMzY3JldDp3aXRoOmNvbG9ucw==", &u, &p));
  EXPECT_EQ(u, "30aea4041d8c");
  EXPECT_EQ(p, "s3cret:with:colons");
  EXPECT_FALSE(basic_credentials("Bearer abc", &u, &p));
  EXPECT_FALSE(basic_credentials("Basic !!!", &u, &p));
  EXPECT_FALSE(basic_credentials("Basic bm9jb2xvbg==", &u, &p));  // "nocolon"
}

TEST(Credentials, ConstantTimeEqual) {
  EXPECT_TRUE(ct_equal(std::string_view("abc"), std::string_view("abc")));
  EXPECT_FALSE(ct_equal(std::string_view("abc"), std::string_view("abd")));
  EXPECT_FALSE(ct_equal(std::string_view("abc"), std::string_view("abcd")));
}

// Certificate serial numbers (src/cli/x509.cc): positive, and DER-minimal
// whatever the random bytes, or OpenSSL 3 refuses the certificate.
TEST(CertSerial, FirstByteIsNeverPaddingNorNegative) {
  uint8_t random[16] = {}, serial[16];
  for (int first = 0; first < 256; ++first) {
    random[0] = static_cast<uint8_t>(first);
    random[15] = static_cast<uint8_t>(first * 7);
    otad::cli::serial_from_random(random, serial);
    EXPECT_GE(serial[0], 0x01) << first;
    EXPECT_LE(serial[0], 0x7F) << first;
    EXPECT_EQ(serial[15], random[15]);
  }
}
