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
#include "otad/inspect.h"
#include "otad/result.h"

namespace otad {

enum class StoreErr : uint8_t {
  None,
  Refused,     // not an app or filesystem image, or corrupt (inspection says why)
  Undetected,  // platform or version neither given nor in the image
  BadName,     // platform or version with characters the catalog does not take
  Conflict,    // that platform and version exist with other bytes
  Broken,      // the manifest does not parse: fix it first
  Io,          // writing failed (the message says why; nothing was listed)
};

struct AddOutcome {
  StoreErr err = StoreErr::None;
  std::string message;        // when err: what was wrong
  bool already = false;       // these bytes were in the catalog: entry is theirs
  ManifestEntry entry;        // the stored (or existing) entry
  std::string platform, version;  // as given or detected
  ImageInfo info;             // what inspection found
  bool semver = true;         // the version is a semantic version
};

// Adds bytes to the catalog in dir. platform and version: as given (empty:
// take them from the image's app description, if it has a trustworthy one).
AddOutcome catalog_add(const std::string& dir, std::span<const uint8_t> bytes, const std::string& platform,
                       const std::string& version);

struct Listed {
  ManifestEntry entry;
  bool current;  // the image its platform serves now
};
Result<std::vector<Listed>> catalog_list(const std::string& dir);

// Removes the one image whose SHA-256 starts with prefix; returns its entry.
// The file is unlinked after the manifest no longer lists it; a running otad
// keeps serving from its open descriptor until it reloads.
Result<ManifestEntry> catalog_remove(const std::string& dir, const std::string& sha256_prefix);

}  // namespace otad
