// Walks shared/fixtures/firmware/expected.json: every real third-party
// image must be classified as its entry says, down to segments and digests.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "otad/digest.h"
#include "otad/fsutil.h"
#include "otad/inspect.h"

using namespace otad;
using nlohmann::json;

namespace {

std::string fixtures() { return OTAD_FIXTURES; }

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(tolower(c));
  return s;
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Our expectations per fixture, on top of the parsed fields in expected.json.
struct Want {
  const char* file;
  const char* kind;
  const char* family;
  const char* chip;
  const char* format;
  const char* image_key;  // which expected.json image is the app / main one
  bool accepted;
};
const Want kWant[] = {
    {"esp32_idf_hello_world_signed.bin", "app", "esp32", "esp32", "esp-idf", "image@0", true},
    {"esp32c3_arduino_pressureprobe.bin", "app", "esp32", "esp32c3", "esp-idf", "image@0", true},
    {"esp32s2_idf_blink.bin", "app", "esp32", "esp32s2", "esp-idf", "image@0", true},
    {"esp8266_arduino_deepsleep.bin", "app", "esp8266", "esp8266", "v1", "image@0x1000", true},
    {"esp8266_nonos_v2_user1_4096.bin", "app", "esp8266", "esp8266", "v2", "inner_v1_image@0x35e60", true},
    {"neg_bootloader_esp32_idf5_2.bin", "bootloader", "esp32", "esp32", "esp-idf", "image@0", false},
    {"neg_bootloader_esp32c3.bin", "bootloader", "esp32", "esp32c3", "esp-idf", "image@0", false},
    {"neg_merged_esp32_micropython_v1.23.0.bin", "merged", "esp32", "esp32", "esp-idf", "image@0xf000", false},
    {"neg_partitions_singleapp.bin", "partition-table", nullptr, nullptr, nullptr, nullptr, false},
};

json expected() {
  auto text = read_file(fixtures() + "/expected.json", 1 << 20);
  EXPECT_TRUE(text.ok()) << "fixtures missing at " << fixtures();
  return text.ok() ? json::parse(*text) : json::object();
}

const EspImage* find_image(const ImageInfo& r, uint32_t offset) {
  for (int i = 0; i < r.image_count; ++i) {
    if (r.images[i].offset == offset) return &r.images[i];
  }
  return nullptr;
}

}  // namespace

TEST(Inspect, EveryFixtureAsExpected) {
  json exp = expected();
  ASSERT_EQ(exp.size(), std::size(kWant)) << "a fixture has no expectation here";
  for (const Want& w : kWant) {
    SCOPED_TRACE(w.file);
    ASSERT_TRUE(exp.contains(w.file));
    const json& e = exp[w.file];
    auto data = read_file(fixtures() + "/" + w.file, 8 << 20);
    ASSERT_TRUE(data.ok());
    ImageInfo r = inspect_image(bytes(*data));
    Digests d = digest_bytes(bytes(*data));
    json j = cli::image_json(r, d);
    EXPECT_EQ(j["kind"], w.kind);
    EXPECT_EQ(j["family"], w.family ? json(w.family) : json(nullptr));
    EXPECT_EQ(j["chip"], w.chip ? json(w.chip) : json(nullptr));
    EXPECT_EQ(j["format"], w.format ? json(w.format) : json(nullptr));
    EXPECT_EQ(j["accepted"], w.accepted) << (r.reason ? r.reason : "");
    EXPECT_EQ(!w.accepted, j["reason"].is_string());
    EXPECT_EQ(j["size"], e["size"]);
    EXPECT_EQ(j["md5"], e["md5"]);
    EXPECT_EQ(j["sha256"], e["sha256"]);
    if (e.contains("entries")) {  // partition table
      ASSERT_EQ(r.partition_count, static_cast<int>(e["entries"].size()));
      for (int i = 0; i < r.partition_count; ++i) {
        EXPECT_EQ(std::string(r.partitions[i].label), e["entries"][i][0]);
        EXPECT_EQ(r.partitions[i].type, e["entries"][i][1]);
      }
      continue;
    }
    // Every image expected.json describes must be found, segment for segment.
    for (auto it = e.begin(); it != e.end(); ++it) {
      const std::string& key = it.key();
      size_t at = key.find('@');
      if (at == std::string::npos || !it->is_object() || !it->contains("segments")) continue;
      SCOPED_TRACE(key);
      const uint32_t off = static_cast<uint32_t>(std::stoul(key.substr(at + 1), nullptr, 0));
      const EspImage* im = find_image(r, off);
      ASSERT_NE(im, nullptr);
      const json& x = *it;
      EXPECT_EQ(lower(j["images"][static_cast<size_t>(im - r.images)]["entry"]), lower(x["entry"]));
      ASSERT_EQ(im->segment_count, static_cast<int>(x["segments"].size()));
      for (int s = 0; s < im->segment_count; ++s) {
        char a[16];
        snprintf(a, sizeof a, "0x%08x", im->segments[s].addr);
        EXPECT_EQ(a, lower(x["segments"][s][0]));
        EXPECT_EQ(im->segments[s].len, x["segments"][s][1]);
      }
      EXPECT_EQ(im->image_end, x["image_end"]);
      const bool ck_ok = x["checksum"].get<std::string>().find("OK") != std::string::npos;
      EXPECT_EQ(im->checksum_calc == im->checksum_stored, ck_ok);
      if (x.contains("sha256_appended")) {
        EXPECT_EQ(im->sha256_ok, x["sha256_appended"] == "OK" ? 1 : 0);
      }
      if (x["chip_id"].is_number()) {
        EXPECT_EQ(im->chip_id, x["chip_id"]);
      }
      if (x.contains("app_desc") && x["app_desc"].is_object()) {
        const json& a = x["app_desc"];
        ASSERT_TRUE(r.has_app_desc);
        EXPECT_EQ(j["app_desc"]["project_name"], a["project_name"]);
        EXPECT_EQ(j["app_desc"]["version"], a["version"]);
        EXPECT_EQ(j["app_desc"]["idf_ver"], a["idf_ver"]);
        EXPECT_EQ(j["app_desc"]["date"], a["date"]);
        EXPECT_EQ(j["app_desc"]["time"], a["time"]);
        EXPECT_EQ(j["app_desc"]["secure_version"], a["secure_version"]);
        EXPECT_EQ(j["app_desc"]["app_elf_sha256"], a["app_elf_sha256"]);
      }
      if (x.contains("bootloader_desc")) {
        EXPECT_EQ(j["idf"], x["bootloader_desc"]["idf_ver"]);
        EXPECT_EQ(j["date"], x["bootloader_desc"]["date_time"]);
      }
    }
    if (e.contains("trailing_bytes_after_image0") && w.image_key && std::string(w.image_key) == "image@0") {
      EXPECT_EQ(j["trailing_bytes"], e["trailing_bytes_after_image0"]);
    }
  }
}

TEST(Inspect, ProjectAndVersionOnlyFromRealDescriptions) {
  auto hello = read_file(fixtures() + "/esp32_idf_hello_world_signed.bin", 8 << 20);
  auto arduino = read_file(fixtures() + "/esp32c3_arduino_pressureprobe.bin", 8 << 20);
  ASSERT_TRUE(hello.ok() && arduino.ok());
  json h = cli::image_json(inspect_image(bytes(*hello)), digest_bytes(bytes(*hello)));
  EXPECT_EQ(h["project"], "hello-world");
  EXPECT_EQ(h["version"], "v3.3-beta3-21-g0706bd0d1-dirty");
  EXPECT_EQ(h["secure_version"], 0);
  // Arduino-ESP32 names the framework, not the sketch.
  json a = cli::image_json(inspect_image(bytes(*arduino)), digest_bytes(bytes(*arduino)));
  EXPECT_TRUE(a["project"].is_null());
  EXPECT_TRUE(a["version"].is_null());
  EXPECT_EQ(a["framework"], "arduino-esp32");
  EXPECT_EQ(a["framework_version"], "heads/idf-release/v4.4-0-gd4572");
}

TEST(Inspect, CorruptionIsRefused) {
  auto data = read_file(fixtures() + "/esp32s2_idf_blink.bin", 8 << 20);
  ASSERT_TRUE(data.ok());
  std::string flipped = *data;
  flipped[5000] ^= 0x01;  // inside a segment: XOR checksum and SHA-256 both break
  ImageInfo r = inspect_image(bytes(flipped));
  EXPECT_EQ(r.kind, ImageKind::App);
  ASSERT_NE(r.reason, nullptr);
  std::string truncated = data->substr(0, data->size() - 100);
  EXPECT_NE(inspect_image(bytes(truncated)).reason, nullptr);
  for (size_t n : {0u, 1u, 7u, 24u, 40u}) {
    EXPECT_NE(inspect_image(bytes(data->substr(0, n))).reason, nullptr) << n;
  }
}

TEST(Inspect, OddInputs) {
  struct Case {
    std::string in;
    ImageKind kind;
  };
  const Case cases[] = {
      {std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00", 8), ImageKind::App},  // gzip (ESP8266)
      {"hello world, not firmware", ImageKind::Unknown},
      {std::string(64, '\xe9'), ImageKind::Unknown},
      {std::string(64, '\0'), ImageKind::Unknown},
  };
  for (const Case& c : cases) EXPECT_EQ(inspect_image(bytes(c.in)).kind, c.kind);
}
