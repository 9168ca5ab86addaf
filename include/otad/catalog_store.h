// Writing the catalog: add, remove and list images in a catalog directory,
// crash-safe (image file first, then the manifest, each by temp file, fsync
// and rename) and serialised between writers by a lock file. Used by otactl
// today and by the daemon's admin API next; what the caller prints or answers
// is its own business, so outcomes carry a kind as well as words.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "otad/catalog.h"
#include "otad/detect.h"
#include "otad/digest.h"
#include "otad/inspect.h"
#include "otad/platforms.h"
#include "otad/result.h"

namespace otad {

enum class StoreErr : uint8_t {
  None,
  Refused,     // not an app or filesystem image, corrupt, wrong chip, over max_size
  Undetected,  // platform or version neither given nor found, or found twice over
  BadName,     // platform or version with characters the catalog does not take
  Conflict,    // that platform and version exist with other bytes
  Broken,      // the manifest or platforms file does not parse: fix it first
  NoSpace,     // the disk is full (nothing was listed)
  Io,          // writing failed (the message says why; nothing was listed)
};

struct AddOutcome {
  StoreErr err = StoreErr::None;
  std::string message;        // when err: what was wrong
  bool already = false;       // these bytes were in the catalog: entry is theirs
  ManifestEntry entry;        // the stored (or existing) entry
  std::string platform, version;  // as given or detected
  ImageInfo info;             // what inspection found
  Detection detected;         // platform, version and where each came from
  bool semver = true;         // the version is a semantic version
};

// Adds bytes to the catalog in dir: inspects them, detects platform and
// version (detect.h), refuses what must not be served, then stores the image
// (durable) before the manifest names it (durable). A platform seen for the
// first time is added to platforms.ini with the image's chip. staged: the
// bytes are already in this file inside dir (an upload); it is renamed into
// place instead of written again.
// known: the bytes' digests, when the caller hashed them as they arrived.
AddOutcome catalog_add(const std::string& dir, std::span<const uint8_t> bytes, const DetectRequest& req,
                       uint64_t max_size, const std::string* staged = nullptr, const Digests* known = nullptr);

struct Listed {
  ManifestEntry entry;
  bool current;  // the image its platform serves now
};
Result<std::vector<Listed>> catalog_list(const std::string& dir);

// Removes the one image whose SHA-256 starts with prefix; returns its entry.
// The file is unlinked after the manifest no longer lists it; a running otad
// keeps serving from its open descriptor until it reloads.
Result<ManifestEntry> catalog_remove(const std::string& dir, const std::string& sha256_prefix);

// Platforms (platforms.ini); put replaces or adds one, remove refuses a
// platform that still has images.
Result<std::vector<Platform>> catalog_platforms(const std::string& dir);
Status catalog_put_platform(const std::string& dir, const Platform& p);
Status catalog_remove_platform(const std::string& dir, const std::string& name);

// Temporary files a crash left behind (uploads, half-written manifests):
// removed at start-up. Returns how many.
size_t catalog_clean_temporaries(const std::string& dir);

// The MD5s of an ESP8266 image with its flash-mode byte (offset 2) set to
// QIO, QOUT, DIO and DOUT: Arduino-ESP8266's Updater rewrites that byte to
// the chip's mode as it flashes, so a device correctly updated reports one of
// these as its sketch MD5. Empty for other images (and gzip, which it leaves).
std::string esp8266_mode_md5s(std::span<const uint8_t> bytes, const ImageInfo& info);

}  // namespace otad
