// Catalog and manifest against real files in a temp directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "otad/catalog.h"
#include "otad/digest.h"
#include "otad/fsutil.h"
#include "otad/imagegen.h"
#include "testutil.h"

using namespace otad;

namespace {
using test::TempDir;
ManifestEntry add(const std::string& dir, const std::string& platform, const std::string& version,
                  uint64_t seq) {
  return test::store_generated(dir, platform, version, seq);
}
}  // namespace

TEST(Catalog, CurrentIsHighestSemver) {
  TempDir t;
  std::vector<ManifestEntry> m = {add(t.path, "p", "1.2.0", 1), add(t.path, "p", "1.10.0", 2),
                                  add(t.path, "p", "1.9.9", 3), add(t.path, "p", "nightly", 4),
                                  add(t.path, "q", "0.1.0", 5)};
  ASSERT_TRUE(manifest_write(manifest_path(t.path), m).ok());
  std::vector<std::string> errors, warnings;
  auto cat = Catalog::load(t.path, 1 << 20, nullptr, &errors, &warnings);
  ASSERT_TRUE(cat.ok()) << cat.error();
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ((*cat)->images().size(), 5u);
  EXPECT_EQ((*cat)->current("p")->m.version, "1.10.0");
  EXPECT_EQ((*cat)->current("q")->m.version, "0.1.0");
  EXPECT_EQ((*cat)->current("r"), nullptr);
  EXPECT_NE((*cat)->by_sha256(m[0].sha256), nullptr);
}

TEST(Catalog, CorruptOrMissingFileIsLeftOutOthersStay) {
  TempDir t;
  std::vector<ManifestEntry> m = {add(t.path, "p", "1.0.0", 1), add(t.path, "p", "2.0.0", 2),
                                  add(t.path, "p", "3.0.0", 3)};
  ASSERT_TRUE(manifest_write(manifest_path(t.path), m).ok());
  // 3.0.0 corrupt (same size, one byte flipped), 2.0.0 missing.
  std::string p3 = image_path(t.path, m[2].sha256);
  auto bytes = read_file(p3, 1 << 20);
  std::string flipped = *bytes;
  flipped[100] ^= 1;
  ASSERT_TRUE(write_file_atomic(p3, flipped).ok());
  unlink(image_path(t.path, m[1].sha256).c_str());
  std::vector<std::string> errors, warnings;
  auto cat = Catalog::load(t.path, 1 << 20, nullptr, &errors, &warnings);
  ASSERT_TRUE(cat.ok());
  EXPECT_EQ(warnings.size(), 2u);
  EXPECT_EQ((*cat)->current("p")->m.version, "1.0.0");
}

TEST(Catalog, ReloadReusesUnchangedImages) {
  TempDir t;
  std::vector<ManifestEntry> m = {add(t.path, "p", "1.0.0", 1)};
  ASSERT_TRUE(manifest_write(manifest_path(t.path), m).ok());
  std::vector<std::string> errors, warnings;
  auto a = Catalog::load(t.path, 1 << 20, nullptr, &errors, &warnings);
  m.push_back(add(t.path, "p", "1.1.0", 2));
  ASSERT_TRUE(manifest_write(manifest_path(t.path), m).ok());
  auto b = Catalog::load(t.path, 1 << 20, a->get(), &errors, &warnings);
  ASSERT_TRUE(b.ok());
  // Same object, same open fd: nothing re-hashed, nothing reopened.
  EXPECT_EQ((*b)->by_sha256(m[0].sha256).get(), (*a)->by_sha256(m[0].sha256).get());
  EXPECT_EQ((*b)->current("p")->m.version, "1.1.0");
}

TEST(Catalog, BrokenManifestFailsWithLine) {
  TempDir t;
  ASSERT_TRUE(write_file_atomic(manifest_path(t.path), "[image 1]\nsha256 = zz\nplatform = p\nbogus = 1\n").ok());
  std::vector<std::string> errors, warnings;
  auto cat = Catalog::load(t.path, 1 << 20, nullptr, &errors, &warnings);
  ASSERT_FALSE(cat.ok());
  ASSERT_GE(errors.size(), 2u);
  EXPECT_NE(errors[0].find("manifest.ini:2: image 1.sha256:"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("manifest.ini:4: image 1.bogus: unknown key"), std::string::npos) << errors[1];
}

TEST(Catalog, NoManifestIsEmpty) {
  TempDir t;
  std::vector<std::string> errors, warnings;
  auto cat = Catalog::load(t.path + "/nothing", 1 << 20, nullptr, &errors, &warnings);
  ASSERT_TRUE(cat.ok());
  EXPECT_TRUE((*cat)->images().empty());
  EXPECT_EQ(warnings.size(), 1u);
}
