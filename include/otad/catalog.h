// The catalog: a directory of images named by their SHA-256 plus
// manifest.ini. otactl writes it (temp file, fsync, rename); otad reads it at
// start-up and on SIGHUP. A loaded Catalog is immutable; connections hold a
// shared_ptr to the Image they are sending, so a reload never cuts them.
#pragma once
#include "otad/digest.h"
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "otad/digest.h"
#include "otad/result.h"
#include "otad/semver.h"

namespace otad {

// One manifest section: what otactl recorded when the image was added.
struct ManifestEntry {
  std::string sha256;  // 64 lowercase hex; the file is <sha256>.bin
  std::string platform, version, chip, kind, project, md5, sha1, added;
  // ESP8266: the MD5s with the flash-mode byte set to QIO, QOUT, DIO, DOUT,
  // comma-separated (what a device that installed it may report).
  std::string md5_modes;
  uint64_t size = 0;
  uint64_t seq = 0;  // add order; breaks ties between equal versions
  bool operator==(const ManifestEntry&) const = default;
};

// Largest size a manifest may name, on every host.
constexpr int64_t kMaxManifestSize = (int64_t{1} << 31) - 1;

Result<std::vector<ManifestEntry>> manifest_read(const std::string& path,
                                                 std::vector<std::string>* errors);
Status manifest_write(const std::string& path, const std::vector<ManifestEntry>& entries);

// An image the daemon can serve. Owns an open fd that outlives renames and
// deletions of the file, so a transfer in flight is never disturbed.
struct Image {
  ManifestEntry m;
  std::optional<Semver> semver;
  uint8_t sha1[20];
  int fd = -1;
  dev_t dev = 0;
  ino_t ino = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;  // with dev, ino, size and mtime: the file as it was verified
  bool catalog_file = false;  // a verified catalog file (else an in-memory body)
  Image() = default;
  Image(const Image&) = delete;
  Image& operator=(const Image&) = delete;
  ~Image();
};

// What changed in the open file since it was verified (fstat: size, inode,
// mtime, ctime: anything that wrote to it, truncated it or changed its mode),
// or nullptr while it is the same file.
const char* image_file_change(const Image& img);

// Image files hashed ahead of a catalog load, a slice at a time, so that a
// reload that brings new images never stalls the reactor (CatalogVerifier).
struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;
  bool operator==(const FileId&) const = default;
};
struct Prehashed {
  std::map<std::string, FileId> verified;      // sha256 -> the file as it was hashed, its digests those listed
  std::map<std::string, std::string> failed;   // sha256 -> why it is left out
};

class Catalog {
 public:
  // Loads dir/manifest.ini and opens every image, verifying size and digests.
  // Images whose file did not change since `previous` are reused without
  // re-hashing. A broken manifest fails the load (errors say file:line); a
  // missing or corrupt image file is left out and reported in `warnings`.
  // trusted_sha256: an image this process hashed as it wrote it (an
  // upload just committed): opened and size-checked, not hashed again.
  static Result<std::shared_ptr<const Catalog>> load(const std::string& dir, uint64_t max_size,
                                                     const Catalog* previous,
                                                     std::vector<std::string>* errors,
                                                     std::vector<std::string>* warnings,
                                                     std::string_view trusted_sha256 = {},
                                                     const Prehashed* prehashed = nullptr);

  // A catalog of entries without files (fd -1): for tests of what is
  // decided, not of what is sent.
  static std::shared_ptr<const Catalog> in_memory(const std::vector<ManifestEntry>& entries);

  // The image a platform serves: the highest semantic version; images whose
  // version is not semver rank below, and later additions win ties.
  // filesystem: the platform's filesystem image (kind "filesystem": SPIFFS,
  // LittleFS, FAT), which Arduino clients ask for with mode spiffs/littlefs/fatfs.
  std::shared_ptr<const Image> current(std::string_view platform, bool filesystem = false) const;
  std::shared_ptr<const Image> by_sha256(std::string_view hex) const;
  // A release: the platform's app image with that version (the latest
  // added, if added twice). Null when there is none.
  std::shared_ptr<const Image> release(std::string_view platform, std::string_view version) const;
  // The newest app image of the platform that ranks below `than`: what
  // devices outside a rollout of `than` get.
  std::shared_ptr<const Image> newest_below(std::string_view platform, const Image& than) const;
  const std::vector<std::shared_ptr<const Image>>& images() const { return images_; }
  // This catalog less the images `drop` names (the files found changed).
  std::shared_ptr<const Catalog> without(const std::function<bool(const Image&)>& drop) const;
  // The manifest's entries that load() would hash (new, or changed since
  // `previous`), for a CatalogVerifier. Empty when the manifest does not read.
  static std::vector<ManifestEntry> to_hash(const std::string& dir, uint64_t max_size, const Catalog* previous);

 private:
  // Looked up per request with string_views (std::less<>): no temporaries.
  using Index = std::map<std::string, std::shared_ptr<const Image>, std::less<>>;
  void index();
  std::vector<std::shared_ptr<const Image>> images_;
  Index current_, current_fs_, by_sha256_;
};

std::string manifest_path(const std::string& dir);
std::string image_path(const std::string& dir, const std::string& sha256);
constexpr const char* kKindFilesystem = "filesystem";
inline bool is_filesystem(const ManifestEntry& e) { return e.kind == kKindFilesystem; }
// True when a should be served in preference to b (same platform).
bool image_newer(const ManifestEntry& a, const ManifestEntry& b);

// Hashes image files a slice at a time (step), for load(): each file's
// SHA-256, SHA-1 and MD5 against its manifest entry, and the file's identity
// before and after, so a file that changed while it was hashed is not taken.
class CatalogVerifier {
 public:
  CatalogVerifier(std::string dir, std::vector<ManifestEntry> entries);
  ~CatalogVerifier();
  CatalogVerifier(const CatalogVerifier&) = delete;
  CatalogVerifier& operator=(const CatalogVerifier&) = delete;
  // Hashes at most `bytes` more; true once every file is done.
  bool step(size_t bytes);
  bool done() const { return next_ >= entries_.size(); }
  const Prehashed& result() const { return out_; }
  uint64_t bytes_total() const;

 private:
  void open_next();
  void finish_file(const char* failure);
  std::string dir_;
  std::vector<ManifestEntry> entries_;
  Prehashed out_;
  size_t next_ = 0;
  int fd_ = -1;
  FileId before_{};
  uint64_t off_ = 0;
  std::unique_ptr<Hasher> hasher_;
};

}  // namespace otad
