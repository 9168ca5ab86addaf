#include "otad/catalog_store.h"

#include <dirent.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>

#include "otad/digest.h"
#include "otad/fsutil.h"

namespace otad {
namespace {

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

// o by reference: callers build msg from o's own fields (det is o.detected),
// and a by-value o could be moved out before msg is built (argument order is
// the compiler's; armhf's GCC did just that).
AddOutcome fail(AddOutcome&& o, StoreErr e, std::string msg) {
  o.err = e;
  o.message = std::move(msg);
  return std::move(o);
}

StoreErr io_kind(const std::string& msg) {
  return msg.find("No space left") != std::string::npos || msg.find("quota") != std::string::npos
             ? StoreErr::NoSpace
             : StoreErr::Io;
}

// rename(2) made durable: the directory entry reaches the disk before the
// caller lists the file anywhere.
Status rename_durable(const std::string& from, const std::string& to) {
  if (rename(from.c_str(), to.c_str()) != 0) return Err(to + ": rename failed: " + strerror(errno));
  int dfd = open(dir_of(to).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Err(dir_of(to) + ": " + strerror(errno));
  const int r = fsync(dfd);
  close(dfd);
  if (r != 0) return Err(dir_of(to) + ": fsync failed: " + strerror(errno));
  return Ok();
}

}  // namespace

std::string esp8266_mode_md5s(std::span<const uint8_t> bytes, const ImageInfo& info) {
  // Updater.cpp (_writeBuffer): in the first block of a U_FLASH update that
  // does not start with 0x1f (gzip), byte 2 is set to ESP.getFlashChipMode()
  // (FM_QIO 0, FM_QOUT 1, FM_DIO 2, FM_DOUT 3) before it is written.
  if (info.family != Family::Esp8266 || bytes.size() < 4 || bytes[0] == 0x1f) return {};
  std::string out;
  for (uint8_t mode = 0; mode < 4; ++mode) {
    Hasher h;
    const uint8_t b = mode;
    h.update(bytes.first(2));
    h.update({&b, 1});
    h.update(bytes.subspan(3));
    if (mode) out += ",";
    out += h.finish().md5_hex();
  }
  return out;
}

AddOutcome catalog_add(const std::string& dir, std::span<const uint8_t> bytes, const DetectRequest& req,
                       uint64_t max_size, const std::string* staged, const Digests* known) {
  AddOutcome o;
  if (Status mk = make_dirs(dir); !mk) return fail(std::move(o), io_kind(mk.error()), mk.error());
  CatalogLock lock(dir);
  std::vector<std::string> errors;
  auto platforms = platforms_read(platforms_path(dir), &errors);
  if (!platforms) return fail(std::move(o), StoreErr::Broken, platforms.error());
  o.info = inspect_image(bytes);
  o.detected = detect_image(bytes, o.info, req, *platforms, max_size);
  const Detection& det = o.detected;
  if (det.refusal) {
    const std::string r = det.refusal;
    const StoreErr e = r == "platform unknown" || r == "version unknown" ? StoreErr::Undetected
                       : r == "bad name"                                  ? StoreErr::BadName
                                                                          : StoreErr::Refused;
    return fail(std::move(o), e, (e == StoreErr::Refused ? "refused: " : "") + det.reason);
  }
  o.platform = det.platform;
  o.version = det.version;
  o.semver = parse_semver(det.version).has_value();
  const Digests d = known ? *known : digest_bytes(bytes);
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
    if (e.platform == det.platform && e.version == det.version && (e.kind == kKindFilesystem) == req.filesystem) {
      return fail(std::move(o), StoreErr::Conflict,
                  det.platform + " " + det.version + " already exists with other bytes (sha256 " + e.sha256 +
                      "); versions are immutable: remove it first or use a new version");
    }
  }
  ManifestEntry& e = o.entry;
  e.sha256 = d.sha256_hex();
  e.platform = det.platform;
  e.version = det.version;
  e.chip = det.chip;
  e.kind = det.kind;
  e.project = o.info.has_app_desc && !o.info.arduino ? o.info.desc.project : "";
  e.md5 = d.md5_hex();
  e.sha1 = d.sha1_hex();
  e.md5_modes = esp8266_mode_md5s(bytes, o.info);
  e.size = bytes.size();
  e.seq = seq + 1;
  e.added = utc_now();
  // Image first, manifest second, each durable before the next step: a crash
  // in between leaves an unlisted file (cleaned at start), never a listed
  // image without its bytes.
  const std::string path = image_path(dir, e.sha256);
  Status s = staged ? rename_durable(*staged, path)
                    : write_file_atomic(path, {reinterpret_cast<const char*>(bytes.data()), bytes.size()});
  // Read-only from now on: an editor or a stray cp cannot rewrite it in
  // place without first changing its mode (otad also checks each transfer).
  if (s && chmod(path.c_str(), 0444) != 0) s = Err(path + ": chmod: " + strerror(errno));
  if (s && det.new_platform) {
    Platform p;
    p.name = det.platform;
    p.chip = det.chip;
    if (det.platform_from == "app_desc" && e.project != det.platform) p.match = e.project;
    platforms->push_back(p);
    s = platforms_write(platforms_path(dir), *platforms);
  }
  if (s) {
    entries->push_back(e);
    s = manifest_write(manifest_path(dir), *entries);
  }
  if (!s) {
    unlink(path.c_str());  // not listed: nothing may find it
    return fail(std::move(o), io_kind(s.error()), s.error());
  }
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
  // The manifest that drops the image is durable before the file goes.
  if (Status s = manifest_write(manifest_path(dir), keep); !s) return Err(s.error());
  unlink(image_path(dir, gone->sha256).c_str());
  return *gone;
}

Result<std::vector<Platform>> catalog_platforms(const std::string& dir) {
  std::vector<std::string> errors;
  return platforms_read(platforms_path(dir), &errors);
}

Status catalog_put_platform(const std::string& dir, const Platform& p) {
  if (!catalog_name_ok(p.name)) return Err("platform names hold letters, digits and . _ - + only (at most 64)");
  if (Status mk = make_dirs(dir); !mk) return mk;
  CatalogLock lock(dir);
  std::vector<std::string> errors;
  auto all = platforms_read(platforms_path(dir), &errors);
  if (!all) return Err(all.error());
  bool replaced = false;
  for (Platform& q : *all) {
    if (q.name == p.name) {
      q = p;
      replaced = true;
    }
  }
  if (!replaced) all->push_back(p);
  return platforms_write(platforms_path(dir), *all);
}

Status catalog_remove_platform(const std::string& dir, const std::string& name) {
  CatalogLock lock(dir);
  std::vector<std::string> errors;
  auto all = platforms_read(platforms_path(dir), &errors);
  if (!all) return Err(all.error());
  auto entries = read_manifest_or_empty(dir);
  if (!entries) return Err(entries.error());
  for (const ManifestEntry& e : *entries) {
    if (e.platform == name) return Err("platform " + name + " still has images (" + e.version + " and maybe more)");
  }
  const size_t before = all->size();
  std::erase_if(*all, [&](const Platform& p) { return p.name == name; });
  if (all->size() == before) return Err("no platform " + name);
  return platforms_write(platforms_path(dir), *all);
}

size_t catalog_clean_temporaries(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return 0;
  size_t n = 0;
  while (dirent* e = readdir(d)) {
    const std::string_view name = e->d_name;
    const bool upload = name.starts_with(".upload-") && name.ends_with(".tmp");
    const bool half_written = name.find(".tmp.") != std::string_view::npos;  // write_file_atomic's
    if (upload || half_written) n += unlinkat(dirfd(d), e->d_name, 0) == 0;
  }
  closedir(d);
  return n;
}

}  // namespace otad
