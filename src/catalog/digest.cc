#include "otad/digest.h"

#include <mbedtls/md.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "otad/strict_num.h"

namespace otad {

std::string Digests::md5_hex() const { return to_hex(md5, sizeof md5); }
std::string Digests::sha1_hex() const { return to_hex(sha1, sizeof sha1); }
std::string Digests::sha256_hex() const { return to_hex(sha256, sizeof sha256); }

struct Hasher::Impl {
  mbedtls_md_context_t ctx[3];
};

static const mbedtls_md_type_t kTypes[3] = {MBEDTLS_MD_MD5, MBEDTLS_MD_SHA1, MBEDTLS_MD_SHA256};

Hasher::Hasher() : impl_(new Impl) {
  for (int i = 0; i < 3; ++i) {
    mbedtls_md_init(&impl_->ctx[i]);
    mbedtls_md_setup(&impl_->ctx[i], mbedtls_md_info_from_type(kTypes[i]), 0);
    mbedtls_md_starts(&impl_->ctx[i]);
  }
}

Hasher::~Hasher() {
  for (auto& c : impl_->ctx) mbedtls_md_free(&c);
  delete impl_;
}

void Hasher::update(std::span<const uint8_t> data) {
  for (auto& c : impl_->ctx) mbedtls_md_update(&c, data.data(), data.size());
}

Digests Hasher::finish() {
  Digests d;
  mbedtls_md_finish(&impl_->ctx[0], d.md5);
  mbedtls_md_finish(&impl_->ctx[1], d.sha1);
  mbedtls_md_finish(&impl_->ctx[2], d.sha256);
  return d;
}

void Hasher::reset() {
  for (auto& c : impl_->ctx) mbedtls_md_starts(&c);
}

Digests digest_bytes(std::span<const uint8_t> data) {
  Hasher h;
  h.update(data);
  return h.finish();
}

void sha256_bytes(std::span<const uint8_t> data, uint8_t out[32]) {
  mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), data.data(), data.size(), out);
}

Result<Digests> digest_fd(int fd, uint64_t* size) {
  Hasher h;
  // 16 KiB: enough to hash at disk speed, and the stack pages it dirties at
  // start-up stay small for the daemon's life.
  uint8_t buf[16384];
  uint64_t total = 0;
  for (;;) {
    ssize_t r = pread(fd, buf, sizeof buf, static_cast<off_t>(total));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Err(std::string("read failed: ") + strerror(errno));
    if (r == 0) break;
    h.update({buf, static_cast<size_t>(r)});
    total += static_cast<uint64_t>(r);
  }
  *size = total;
  return h.finish();
}

}  // namespace otad
