// Generated images must pass the same inspection real ones do.
#include <gtest/gtest.h>

#include "otad/imagegen.h"
#include "otad/inspect.h"

using namespace otad;

TEST(ImageGen, Esp32FamilyAppsInspectClean) {
  for (const char* chip : {"esp32", "esp32s2", "esp32c3", "esp32s3", "esp32c6"}) {
    for (uint64_t size : {4096ull, 65536ull, 1048576ull, 1000001ull}) {
      ImageSpec spec;
      spec.chip = chip;
      spec.project = "proj";
      spec.version = "2.3.4-rc.1";
      spec.size = size;
      spec.secure_version = 7;
      auto img = make_image(spec);
      ASSERT_TRUE(img.ok()) << img.error();
      EXPECT_EQ(img->size(), (size + 15) / 16 * 16) << chip;
      ImageInfo r = inspect_image(*img);
      SCOPED_TRACE(std::string(chip) + " " + std::to_string(size));
      EXPECT_EQ(r.kind, ImageKind::App);
      EXPECT_EQ(r.reason, nullptr) << r.reason;
      EXPECT_STREQ(r.chip, chip);
      ASSERT_TRUE(r.has_app_desc);
      EXPECT_STREQ(r.desc.project, "proj");
      EXPECT_STREQ(r.desc.version, "2.3.4-rc.1");
      EXPECT_EQ(r.desc.secure_version, 7u);
      EXPECT_EQ(r.images[0].sha256_ok, 1);
      EXPECT_EQ(r.images[0].image_end, img->size());
    }
  }
}

TEST(ImageGen, VersionsDiffer) {
  ImageSpec a, b;
  b.version = "1.0.1";
  EXPECT_NE(*make_image(a), *make_image(b));
  EXPECT_EQ(*make_image(a), *make_image(a));  // deterministic
}

TEST(ImageGen, Esp8266ArduinoLayoutAndCrcPatch) {
  ImageSpec spec;
  spec.chip = "esp8266";
  spec.size = 300000;
  auto plain = make_image(spec);
  ASSERT_TRUE(plain.ok());
  ImageInfo r = inspect_image(*plain);
  EXPECT_EQ(r.kind, ImageKind::App);
  EXPECT_STREQ(r.format, "v1");
  EXPECT_EQ(r.app_index, 1);
  EXPECT_EQ(r.images[1].offset, 0x1000u);
  EXPECT_EQ(r.reason, nullptr);
  EXPECT_EQ(r.crc_patch, -1);
  // Core 3 patches length + CRC after the checksum: the XOR checksum then
  // fails, yet the image is intact and must be accepted.
  spec.esp8266_crc_patch = true;
  auto patched = make_image(spec);
  ASSERT_TRUE(patched.ok());
  ImageInfo p = inspect_image(*patched);
  EXPECT_NE(p.images[1].checksum_calc, p.images[1].checksum_stored);
  EXPECT_EQ(p.crc_patch, 1);
  EXPECT_EQ(p.reason, nullptr);
  // A flipped byte now breaks the CRC too: refused.
  (*patched)[0x2000] ^= 0x40;
  ImageInfo bad = inspect_image(*patched);
  EXPECT_EQ(bad.crc_patch, 0);
  EXPECT_NE(bad.reason, nullptr);
}

TEST(ImageGen, RejectsNonsense) {
  ImageSpec s;
  s.chip = "esp31";
  EXPECT_FALSE(make_image(s).ok());
  s = {};
  s.size = 100;
  EXPECT_FALSE(make_image(s).ok());
  s = {};
  s.version = std::string(40, '1');
  EXPECT_FALSE(make_image(s).ok());
}
