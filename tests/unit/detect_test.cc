// Detection over the real fixtures and generated images: what each source
// yields, and refusals that say what was found.
#include <gtest/gtest.h>

#include "otad/catalog_store.h"
#include "otad/detect.h"
#include "otad/digest.h"
#include "otad/fsutil.h"
#include "otad/imagegen.h"

using namespace otad;

namespace {

std::vector<uint8_t> fixture(const char* name) {
  auto d = read_file(std::string(OTAD_FIXTURES) + "/" + name, 16u << 20);
  EXPECT_TRUE(d.ok()) << name;
  return {d->begin(), d->end()};
}

std::vector<uint8_t> generated(const char* project, const char* version, const std::string& tail = "") {
  ImageSpec spec;
  spec.project = project;
  spec.version = version;
  spec.size = 8192;
  std::vector<uint8_t> b = *make_image(spec);
  b.insert(b.end(), tail.begin(), tail.end());
  return b;
}

Detection run(const std::vector<uint8_t>& b, const char* platform = "", const char* version = "",
              const char* filename = "", const std::vector<Platform>& platforms = {}, bool fs = false) {
  DetectRequest r;
  r.platform = platform;
  r.version = version;
  r.filename = filename;
  r.filesystem = fs;
  return detect_image(b, inspect_image(b), r, platforms, 16 << 20);
}

}  // namespace

TEST(Detect, Fixtures) {
  struct Case {
    const char* file;
    const char* platform;  // given
    const char* version;   // given
    const char* refusal;   // nullptr: accepted
    const char* want_platform;
    const char* platform_from;
    const char* want_version;
    const char* version_from;
  };
  const Case cases[] = {
      // IDF's own git describe as the version: the project's name is kept, its version is not.
      {"esp32_idf_hello_world_signed.bin", "", "", "version unknown", "hello-world", "app_desc", nullptr, nullptr},
      {"esp32_idf_hello_world_signed.bin", "", "1.0.0", nullptr, "hello-world", "app_desc", "1.0.0", "given"},
      {"esp32s2_idf_blink.bin", "", "", "version unknown", "blink", "app_desc", nullptr, nullptr},
      {"esp32s2_idf_blink.bin", "lamp", "2.0.0", nullptr, "lamp", "given", "2.0.0", "given"},
      // Arduino-ESP32: the app description is the lib builder's.
      {"esp32c3_arduino_pressureprobe.bin", "", "", "platform unknown", nullptr, nullptr, nullptr, nullptr},
      {"esp32c3_arduino_pressureprobe.bin", "probe", "", "version unknown", "probe", "given", nullptr, nullptr},
      {"esp32c3_arduino_pressureprobe.bin", "probe", "1.4.0", nullptr, "probe", "given", "1.4.0", "given"},
      {"esp8266_arduino_deepsleep.bin", "", "", "platform unknown", nullptr, nullptr, nullptr, nullptr},
      {"esp8266_arduino_deepsleep.bin", "sleeper", "0.9.0", nullptr, "sleeper", "given", "0.9.0", "given"},
      {"neg_bootloader_esp32c3.bin", "x", "1.0.0", "not an app", nullptr, nullptr, nullptr, nullptr},
      {"neg_bootloader_esp32_idf5_2.bin", "x", "1.0.0", "not an app", nullptr, nullptr, nullptr, nullptr},
      {"neg_partitions_singleapp.bin", "x", "1.0.0", "not an app", nullptr, nullptr, nullptr, nullptr},
      {"neg_merged_esp32_micropython_v1.23.0.bin", "x", "1.0.0", "not an app", nullptr, nullptr, nullptr, nullptr},
  };
  for (const Case& c : cases) {
    Detection d = run(fixture(c.file), c.platform, c.version);
    if (c.refusal) {
      ASSERT_NE(d.refusal, nullptr) << c.file;
      EXPECT_STREQ(d.refusal, c.refusal) << c.file << ": " << d.reason;
      EXPECT_FALSE(d.reason.empty());
    } else {
      EXPECT_EQ(d.refusal, nullptr) << c.file << ": " << d.reason;
    }
    if (c.want_platform) {
      EXPECT_EQ(d.platform, c.want_platform) << c.file;
      EXPECT_EQ(d.platform_from, c.platform_from) << c.file;
    }
    if (c.want_version) {
      EXPECT_EQ(d.version, c.want_version) << c.file;
      EXPECT_EQ(d.version_from, c.version_from) << c.file;
    }
  }
}

TEST(Detect, SourcesAndConflicts) {
  // The app description, when it is the project's own.
  Detection d = run(generated("thermo", "2.1.0"));
  EXPECT_EQ(d.refusal, nullptr) << d.reason;
  EXPECT_EQ(d.platform, "thermo");
  EXPECT_EQ(d.version_from, "app_desc");
  // A marker that agrees is fine; one that differs is a conflict, named.
  d = run(generated("thermo", "2.1.0", std::string("OTAD_VERSION=2.1.0\0", 19)));
  EXPECT_EQ(d.refusal, nullptr) << d.reason;
  d = run(generated("thermo", "2.1.0", std::string("OTAD_VERSION=2.2.0\0", 19)));
  ASSERT_NE(d.refusal, nullptr);
  EXPECT_NE(d.reason.find("2.1.0 (app_desc) 2.2.0 (marker)"), std::string::npos) << d.reason;
  // Given wins over everything found.
  d = run(generated("thermo", "2.1.0", std::string("OTAD_VERSION=2.2.0\0", 19)), "", "3.0.0");
  EXPECT_EQ(d.refusal, nullptr);
  EXPECT_EQ(d.version, "3.0.0");
  // The file name, next to the platform's match name.
  const std::vector<Platform> plats = {{"sensor", "esp32", "sensor-fw", 0}};
  auto fw = fixture("esp32c3_arduino_pressureprobe.bin");
  d = run(fw, "", "", "/tmp/build/Sensor-FW_v1.3.2.bin", {{"sensor", "", "sensor-fw", 0}});
  EXPECT_EQ(d.refusal, nullptr) << d.reason;
  EXPECT_EQ(d.platform, "sensor");
  EXPECT_EQ(d.platform_from, "filename");
  EXPECT_EQ(d.version, "1.3.2");
  EXPECT_EQ(d.version_from, "filename");
  // A chip the platform does not have.
  d = run(fw, "sensor", "1.0.0", "", plats);
  ASSERT_NE(d.refusal, nullptr);
  EXPECT_STREQ(d.refusal, "wrong chip");
  EXPECT_NE(d.reason.find("esp32c3"), std::string::npos);
  // Over the platform's max_size.
  d = run(generated("thermo", "2.1.0"), "", "", "", {{"thermo", "", "", 4096}});
  ASSERT_NE(d.refusal, nullptr);
  EXPECT_STREQ(d.refusal, "too large");
  // Names that are not names.
  d = run(generated("thermo", "2.1.0"), "", "1.0/../x");
  ASSERT_NE(d.refusal, nullptr);
  EXPECT_STREQ(d.refusal, "bad name");
}

TEST(Detect, FilesystemImages) {
  std::vector<uint8_t> fs(65536, 0xFF);
  const char lfs[] = "littlefs";
  std::copy(lfs, lfs + 8, fs.begin() + 8);
  Detection d = run(fs, "thermo", "", "thermo-v1.0.0.bin", {{"thermo", "esp32", "", 0}}, true);
  EXPECT_EQ(d.refusal, nullptr) << d.reason;
  EXPECT_EQ(d.kind, "filesystem");
  EXPECT_EQ(d.version, "1.0.0");
  EXPECT_EQ(d.chip, "esp32");
  // An app uploaded as a filesystem is refused, and the other way round.
  d = run(generated("thermo", "2.1.0"), "thermo", "1.0.0", "", {}, true);
  ASSERT_NE(d.refusal, nullptr);
  d = run(fs, "thermo", "1.0.0");
  ASSERT_NE(d.refusal, nullptr);
  EXPECT_STREQ(d.refusal, "not an app");
}

TEST(Detect, Esp8266FlashModeMd5s) {
  auto b = fixture("esp8266_arduino_deepsleep.bin");
  const ImageInfo info = inspect_image(b);
  const std::string modes = esp8266_mode_md5s(b, info);
  ASSERT_EQ(modes.size(), 4u * 32 + 3);
  // The file's own MD5 is the one for its own mode byte (2 = DIO here).
  EXPECT_EQ(b[2], 2);
  EXPECT_EQ(modes.substr(2 * 33, 32), "1d854ab9553adaf4f77c10399ccaaeb1");
  std::vector<uint8_t> qio = b;
  qio[2] = 0;
  EXPECT_EQ(modes.substr(0, 32), digest_bytes(qio).md5_hex());
  EXPECT_EQ(esp8266_mode_md5s(fixture("esp32s2_idf_blink.bin"), inspect_image(fixture("esp32s2_idf_blink.bin"))), "");
}
