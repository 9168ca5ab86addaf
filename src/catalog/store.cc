#include "otad/catalog_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include "otad/digest.h"
#include "otad/fsutil.h"

namespace otad {
namespace {

bool name_ok(const std::string& s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '+')) return false;
  }
  return true;
}

std::string utc_now() {
  char b[32];
  time_t t = time(nullptr);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

// Serialises writers of one catalog (two writers at once must not lose an add).
struct CatalogLock {
  int fd = -1;
  explicit CatalogLock(const std::string& dir) {
    fd = open((dir + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) flock(fd, LOCK_EX);
  }
  ~CatalogLock() {
    if (fd >= 0) close(fd);
  }
  CatalogLock(const CatalogLock&) = delete;
  CatalogLock& operator=(const CatalogLock&) = delete;
};

Result<std::vector<ManifestEntry>> read_manifest_or_empty(const std::string& dir) {
  std::vector<std::string> errors;
  if (!file_exists(manifest_path(dir))) return std::vector<ManifestEntry>{};
  auto m = manifest_read(manifest_path(dir), &errors);
  if (!m) {
    std::string all;
    for (const auto& e : errors) all += (all.empty() ? "" : "\n") + e;
    return Err(all);
  }
  return m;
}

AddOutcome fail(AddOutcome o, StoreErr e, std::string msg) {
  o.err = e;
  o.message = std::move(msg);
  return o;
}

}  // namespace

AddOutcome catalog_add(const std::string& dir, std::span<const uint8_t> bytes, const std::string& platform_given,
                       const std::string& version_given) {
  AddOutcome o;
  o.info = inspect_image(bytes);
  const ImageInfo& info = o.info;
  if (info.reason) return fail(std::move(o), StoreErr::Refused, std::string("refused: ") + info.reason);
  // Arduino-ESP32's app description names the framework, not the sketch.
  const bool desc = info.has_app_desc && !info.arduino;
  const std::string platform = !platform_given.empty() ? platform_given : desc ? info.desc.project : "";
  const std::string version = !version_given.empty() ? version_given : desc ? info.desc.version : "";
  if (platform.empty() || version.empty()) {
    return fail(std::move(o), StoreErr::Undetected,
                std::string("the image does not say its ") + (platform.empty() ? "platform" : "version") +
                    (info.arduino ? " (Arduino-ESP32 builds name the framework, not the sketch)" : ""));
  }
  if (!name_ok(platform, 64) || !name_ok(version, 64)) {
    return fail(std::move(o), StoreErr::BadName,
                "platform and version may hold letters, digits and . _ - + only (at most 64 characters)");
  }
  o.platform = platform;
  o.version = version;
  o.semver = parse_semver(version).has_value();
  const Digests d = digest_bytes(bytes);
  if (Status mk = make_dirs(dir); !mk) return fail(std::move(o), StoreErr::Io, mk.error());
  CatalogLock lock(dir);
  auto entries = read_manifest_or_empty(dir);
  if (!entries) return fail(std::move(o), StoreErr::Broken, entries.error());
  uint64_t seq = 0;
  for (const ManifestEntry& e : *entries) {
    seq = std::max(seq, e.seq);
    if (e.sha256 == d.sha256_hex()) {
      o.already = true;
      o.entry = e;
      return o;
    }
    if (e.platform == platform && e.version == version) {
      return fail(std::move(o), StoreErr::Conflict,
                  platform + " " + version + " already exists with other bytes (sha256 " + e.sha256 +
                      "); versions are immutable: remove it first or use a new version");
    }
  }
  ManifestEntry& e = o.entry;
  e.sha256 = d.sha256_hex();
  e.platform = platform;
  e.version = version;
  e.chip = info.chip;
  e.kind = kind_name(info.kind);
  e.project = desc ? info.desc.project : "";
  e.md5 = d.md5_hex();
  e.sha1 = d.sha1_hex();
  e.size = info.size;
  e.seq = seq + 1;
  e.added = utc_now();
  // Image first, manifest second: a crash in between leaves an unlisted file,
  // never a listed image without its bytes.
  Status s = write_file_atomic(image_path(dir, e.sha256),
                               {reinterpret_cast<const char*>(bytes.data()), bytes.size()});
  if (s) {
    entries->push_back(e);
    s = manifest_write(manifest_path(dir), *entries);
  }
  if (!s) return fail(std::move(o), StoreErr::Io, s.error());
  return o;
}

Result<std::vector<Listed>> catalog_list(const std::string& dir) {
  auto entries = read_manifest_or_empty(dir);
  if (!entries) return Err(entries.error());
  // Which image each platform serves now: the same rule otad applies.
  std::map<std::string, const ManifestEntry*> current;
  for (const ManifestEntry& e : *entries) {
    auto& c = current[e.platform];
    if (!c || image_newer(e, *c)) c = &e;
  }
  std::vector<Listed> out;
  for (const ManifestEntry& e : *entries) out.push_back({e, current[e.platform] == &e});
  return out;
}

Result<ManifestEntry> catalog_remove(const std::string& dir, const std::string& prefix) {
  CatalogLock lock(dir);
  auto entries = read_manifest_or_empty(dir);
  if (!entries) return Err(entries.error());
  std::vector<ManifestEntry> keep;
  std::optional<ManifestEntry> gone;
  int matches = 0;
  for (const ManifestEntry& e : *entries) {
    if (e.sha256.rfind(prefix, 0) == 0) {
      ++matches;
      gone = e;
    } else {
      keep.push_back(e);
    }
  }
  if (matches != 1) return Err(prefix + " matches " + std::to_string(matches) + " images");
  if (Status s = manifest_write(manifest_path(dir), keep); !s) return Err(s.error());
  unlink(image_path(dir, gone->sha256).c_str());
  return *gone;
}

}  // namespace otad
