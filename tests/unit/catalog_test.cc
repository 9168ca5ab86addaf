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

// A reload's new images hashed a slice at a time: intact ones are taken
// without hashing again, corrupt and vanished ones are left out with the
// reason, whatever the slice size.
TEST(CatalogVerifier, SlicesGiveTheSameVerdictsAsOneLoad) {
  for (size_t slice : {size_t{1}, size_t{4097}, size_t{1} << 20}) {
    TempDir t;
    std::vector<ManifestEntry> m = {add(t.path, "p", "1.0.0", 1), add(t.path, "p", "2.0.0", 2),
                                    add(t.path, "p", "3.0.0", 3)};
    ASSERT_TRUE(manifest_write(manifest_path(t.path), m).ok());
    std::string p3 = image_path(t.path, m[2].sha256);
    std::string flipped = *read_file(p3, 1 << 20);
    flipped[flipped.size() - 1] ^= 1;  // the last byte: a whole file must be read to see it
    ASSERT_TRUE(write_file_atomic(p3, flipped).ok());
    unlink(image_path(t.path, m[1].sha256).c_str());
    std::vector<ManifestEntry> todo = Catalog::to_hash(t.path, 1 << 20, nullptr);
    EXPECT_EQ(todo.size(), 2u);  // 2.0.0 has no file: load() says so itself
    CatalogVerifier v(t.path, todo);
    int steps = 0;
    while (!v.step(slice)) ++steps;
    if (slice == 1) {
      EXPECT_GT(steps, 1000);  // it really went a slice at a time
    }
    EXPECT_EQ(v.result().verified.size(), 1u);
    ASSERT_EQ(v.result().failed.size(), 1u);
    EXPECT_NE(v.result().failed.begin()->second.find("corrupt"), std::string::npos);
    std::vector<std::string> errors, warnings;
    auto cat = Catalog::load(t.path, 1 << 20, nullptr, &errors, &warnings, {}, &v.result());
    ASSERT_TRUE(cat.ok());
    EXPECT_EQ((*cat)->images().size(), 1u);
    EXPECT_EQ((*cat)->current("p")->m.version, "1.0.0");
    EXPECT_EQ(warnings.size(), 2u);
  }
}

TEST(CatalogVerifier, AFileChangedAfterHashingIsHashedAgainAtLoad) {
  TempDir t;
  std::vector<ManifestEntry> m = {add(t.path, "p", "1.0.0", 1)};
  ASSERT_TRUE(manifest_write(manifest_path(t.path), m).ok());
  CatalogVerifier v(t.path, Catalog::to_hash(t.path, 1 << 20, nullptr));
  while (!v.step(1 << 20)) {
  }
  ASSERT_EQ(v.result().verified.size(), 1u);
  // Rewritten in place after it was hashed: its identity no longer matches,
  // so load() does not trust the verdict and finds the damage itself.
  const std::string path = image_path(t.path, m[0].sha256);
  std::string bytes = *read_file(path, 1 << 20);
  bytes[10] ^= 1;
  std::ofstream(path, std::ios::binary | std::ios::in | std::ios::out).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  std::vector<std::string> errors, warnings;
  auto cat = Catalog::load(t.path, 1 << 20, nullptr, &errors, &warnings, {}, &v.result());
  ASSERT_TRUE(cat.ok());
  EXPECT_EQ((*cat)->images().size(), 0u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("corrupt"), std::string::npos);
}
