// Helpers shared by unit tests that need real files on disk.
#pragma once
#include <cstdlib>
#include <string>

#include "otad/catalog.h"
#include "otad/digest.h"
#include "otad/fsutil.h"
#include "otad/imagegen.h"

namespace otad::test {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/otad-unit-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { (void)!system(("rm -rf " + path).c_str()); }
};

// Generates an ESP32 app image, stores it in dir as the catalog would and
// returns its manifest entry (not yet written to the manifest).
inline ManifestEntry store_generated(const std::string& dir, const std::string& platform,
                                     const std::string& version, uint64_t seq, uint64_t size = 8192) {
  ImageSpec spec;
  spec.project = platform;
  spec.version = version;
  spec.size = size;
  auto img = make_image(spec);
  Digests d = digest_bytes(*img);
  ManifestEntry e;
  e.sha256 = d.sha256_hex();
  e.platform = platform;
  e.version = version;
  e.chip = "esp32";
  e.kind = "app";
  e.project = platform;
  e.md5 = d.md5_hex();
  e.sha1 = d.sha1_hex();
  e.size = img->size();
  e.seq = seq;
  (void)!write_file_atomic(image_path(dir, e.sha256),
                           {reinterpret_cast<const char*>(img->data()), img->size()});
  return e;
}

}  // namespace otad::test
