// The catalog store on real files: detection from the image, what it refuses,
// immutable versions, listing the current image, removal.
#include <gtest/gtest.h>

#include "otad/catalog_store.h"
#include "otad/fsutil.h"
#include "otad/imagegen.h"
#include "testutil.h"

using namespace otad;

namespace {
std::vector<uint8_t> generated(const char* project, const char* version, uint64_t size = 8192) {
  ImageSpec spec;
  spec.project = project;
  spec.version = version;
  spec.size = size;
  return *make_image(spec);
}
AddOutcome add(const std::string& dir, std::span<const uint8_t> bytes, const char* platform, const char* version,
               const char* filename = "", bool fs = false) {
  DetectRequest r;
  r.platform = platform;
  r.version = version;
  r.filename = filename;
  r.filesystem = fs;
  return catalog_add(dir, bytes, r, 16 << 20);
}
std::vector<uint8_t> fixture(const char* name) {
  auto d = read_file(std::string(OTAD_FIXTURES) + "/" + name, 16u << 20);
  EXPECT_TRUE(d.ok()) << name;
  return {d->begin(), d->end()};
}
}  // namespace

TEST(CatalogStore, AddDetectsListsAndRemoves) {
  test::TempDir t;
  const std::string dir = t.path + "/catalog";
  auto v1 = generated("demo", "1.0.0"), v2 = generated("demo", "1.1.0");
  AddOutcome a = add(dir, v1, "", "");
  ASSERT_EQ(a.err, StoreErr::None) << a.message;
  EXPECT_FALSE(a.already);
  EXPECT_EQ(a.entry.platform, "demo");
  EXPECT_EQ(a.entry.version, "1.0.0");
  EXPECT_EQ(a.entry.seq, 1u);
  EXPECT_TRUE(file_exists(image_path(dir, a.entry.sha256)));
  AddOutcome b = add(dir, v2, "", "");
  ASSERT_EQ(b.err, StoreErr::None) << b.message;
  EXPECT_EQ(b.entry.seq, 2u);

  AddOutcome again = add(dir, v1, "", "");  // the same bytes
  EXPECT_EQ(again.err, StoreErr::None);
  EXPECT_TRUE(again.already);
  EXPECT_EQ(again.entry.sha256, a.entry.sha256);

  // A version is immutable: other bytes under demo 1.0.0 are a conflict.
  AddOutcome clash = add(dir, generated("demo", "1.0.0", 12288), "", "");
  EXPECT_EQ(clash.err, StoreErr::Conflict);
  EXPECT_NE(clash.message.find("already exists with other bytes"), std::string::npos);

  auto listed = catalog_list(dir);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_FALSE((*listed)[0].current);
  EXPECT_TRUE((*listed)[1].current);  // 1.1.0 is what demo serves

  auto gone = catalog_remove(dir, b.entry.sha256.substr(0, 8));
  ASSERT_TRUE(gone.ok()) << gone.error();
  EXPECT_EQ(gone->version, "1.1.0");
  EXPECT_FALSE(file_exists(image_path(dir, b.entry.sha256)));
  listed = catalog_list(dir);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE((*listed)[0].current);
  EXPECT_FALSE(catalog_remove(dir, "ffffffff").ok());
}

TEST(CatalogStore, RefusesWhatIsNotAnAppAndNeverGuesses) {
  test::TempDir t;
  const std::string dir = t.path + "/catalog";
  AddOutcome boot = add(dir, fixture("neg_bootloader_esp32c3.bin"), "x", "1.0.0");
  EXPECT_EQ(boot.err, StoreErr::Refused);
  AddOutcome merged = add(dir, fixture("neg_merged_esp32_micropython_v1.23.0.bin"), "x", "1.0.0");
  EXPECT_EQ(merged.err, StoreErr::Refused);
  // Arduino-ESP32 names the framework, not the sketch: no platform is taken from it.
  AddOutcome arduino = add(dir, fixture("esp32c3_arduino_pressureprobe.bin"), "", "");
  EXPECT_EQ(arduino.err, StoreErr::Undetected);
  EXPECT_NE(arduino.message.find("Arduino-ESP32"), std::string::npos);
  AddOutcome given = add(dir, fixture("esp32c3_arduino_pressureprobe.bin"), "probe", "2.0.0");
  EXPECT_EQ(given.err, StoreErr::None) << given.message;
  AddOutcome bad = add(dir, generated("demo", "1.0.0"), "a/b", "");
  EXPECT_EQ(bad.err, StoreErr::BadName);
  // Nothing refused reached the manifest.
  auto listed = catalog_list(dir);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].entry.platform, "probe");
}

TEST(CatalogStore, BrokenManifestIsNotOverwritten) {
  test::TempDir t;
  const std::string dir = t.path;
  ASSERT_TRUE(write_file_atomic(manifest_path(dir), "[not a sha]\nplatform = x\n").ok());
  AddOutcome a = add(dir, generated("demo", "1.0.0"), "", "");
  EXPECT_EQ(a.err, StoreErr::Broken);
  auto text = read_file(manifest_path(dir), 4096);
  EXPECT_EQ(*text, "[not a sha]\nplatform = x\n");
}
