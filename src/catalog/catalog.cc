#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "otad/catalog.h"

#include "otad/digest.h"
#include "otad/fsutil.h"
#include "otad/strict_num.h"

namespace otad {

Image::~Image() {
  if (fd >= 0) close(fd);
}

bool image_newer(const ManifestEntry& a, const ManifestEntry& b) {
  auto va = parse_semver(a.version), vb = parse_semver(b.version);
  if (va && vb) {
    int c = semver_compare(*va, *vb);
    if (c != 0) return c > 0;
  } else if (va || vb) {
    return va.has_value();
  }
  return a.seq > b.seq;
}

namespace {

int64_t mtime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}
// Any write, truncate, chmod or touch moves ctime, and nothing can set it
// back: with the inode, size and mtime it tells a file still the one verified.
int64_t ctime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
}
void note_identity(Image* img, const struct stat& st) {
  img->dev = st.st_dev;
  img->ino = st.st_ino;
  img->mtime_ns = mtime_ns(st);
  img->ctime_ns = ctime_ns(st);
  img->catalog_file = true;
}

FileId file_id(const struct stat& st) {
  return {st.st_dev, st.st_ino, static_cast<uint64_t>(st.st_size), mtime_ns(st), ctime_ns(st)};
}

// The previous catalog's image for this entry if the entry is the same and
// its file on disk is still the one verified (inode, size, mtime, ctime):
// kept with its open fd and not hashed again; only metadata may change.
std::shared_ptr<const Image> unchanged(const std::string& dir, const ManifestEntry& e, uint64_t max_size,
                                       const Catalog* previous) {
  std::shared_ptr<const Image> img = previous ? previous->by_sha256(e.sha256) : nullptr;
  struct stat st;
  if (!img || !(e == img->m) || e.size > max_size || stat(image_path(dir, e.sha256).c_str(), &st) != 0) {
    return nullptr;
  }
  const FileId verified{img->dev, img->ino, img->m.size, img->mtime_ns, img->ctime_ns};
  return file_id(st) == verified ? img : nullptr;
}

// Opens and verifies one image file against its manifest entry. trusted:
// hashed already (as it was written, or by a CatalogVerifier whose file
// identity `hashed` must still hold).
Result<std::shared_ptr<Image>> open_image(const std::string& dir, const ManifestEntry& e,
                                          uint64_t max_size, bool trusted, const FileId* hashed = nullptr) {
  const std::string path = image_path(dir, e.sha256);
  auto img = std::make_shared<Image>();
  img->m = e;
  img->semver = parse_semver(e.version);
  img->fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (img->fd < 0) return Err(path + ": " + strerror(errno));
  struct stat st;
  if (fstat(img->fd, &st) != 0) return Err(path + ": " + strerror(errno));
  if (static_cast<uint64_t>(st.st_size) != e.size) {
    return Err(path + ": file is " + std::to_string(st.st_size) + " bytes, manifest says " +
               std::to_string(e.size));
  }
  if (e.size > max_size) {
    return Err(path + ": larger than catalog.max_image_size (" + std::to_string(max_size) + ")");
  }
  if (hashed && !(file_id(st) == *hashed)) trusted = false;  // changed since: hash it again
  if (trusted) {
    // Hashed as it was written, a moment ago, by this process (or by a
    // CatalogVerifier, and the file has not changed since).
    if (!from_hex(e.sha1, img->sha1, 20)) return Err(path + ": the manifest's SHA-1 is not hex");
    note_identity(img.get(), st);
    return img;
  }
  uint64_t n = 0;
  auto d = digest_fd(img->fd, &n);
  if (!d) return Err(path + ": " + d.error());
  if (d->sha256_hex() != e.sha256) return Err(path + ": SHA-256 does not match its name: corrupt");
  if (d->sha1_hex() != e.sha1 || d->md5_hex() != e.md5) {
    return Err(path + ": SHA-1/MD5 differ from the manifest: corrupt");
  }
  memcpy(img->sha1, d->sha1, 20);
  note_identity(img.get(), st);
  return img;
}

}  // namespace

const char* image_file_change(const Image& img) {
  if (!img.catalog_file) return nullptr;  // an in-memory body (the admin API's JSON)
  struct stat st;
  if (fstat(img.fd, &st) != 0) return "cannot be checked (fstat failed)";
  if (static_cast<uint64_t>(st.st_size) < img.m.size) return "image file shrank on disk";
  if (static_cast<uint64_t>(st.st_size) != img.m.size) return "image file grew on disk";
  if (st.st_dev != img.dev || st.st_ino != img.ino) return "image file was replaced on disk";
  if (mtime_ns(st) != img.mtime_ns || ctime_ns(st) != img.ctime_ns) {
    return "image file was changed on disk since it was verified (written to, touched or its mode changed)";
  }
  return nullptr;
}

Result<std::shared_ptr<const Catalog>> Catalog::load(const std::string& dir, uint64_t max_size,
                                                     const Catalog* previous,
                                                     std::vector<std::string>* errors,
                                                     std::vector<std::string>* warnings,
                                                     std::string_view trusted_sha256,
                                                     const Prehashed* prehashed) {
  auto cat = std::make_shared<Catalog>();
  const std::string mpath = manifest_path(dir);
  if (!file_exists(mpath)) {
    warnings->push_back(mpath + ": no manifest yet; the catalog is empty (add images with "
                                "otactl image add)");
    return std::shared_ptr<const Catalog>(cat);
  }
  auto entries = manifest_read(mpath, errors);
  if (!entries) return Err(entries.error());
  for (const ManifestEntry& e : *entries) {
    if (auto same = unchanged(dir, e, max_size, previous)) {
      cat->images_.push_back(same);
      continue;
    }
    const FileId* hashed = nullptr;
    if (prehashed) {
      if (auto f = prehashed->failed.find(e.sha256); f != prehashed->failed.end()) {
        warnings->push_back(f->second + " (" + e.platform + " " + e.version + " left out of the catalog)");
        continue;
      }
      if (auto v = prehashed->verified.find(e.sha256); v != prehashed->verified.end()) hashed = &v->second;
    }
    auto img = open_image(dir, e, max_size, hashed || (!trusted_sha256.empty() && e.sha256 == trusted_sha256),
                          hashed);
    if (!img) {
      warnings->push_back(img.error() + " (" + e.platform + " " + e.version +
                          " left out of the catalog)");
      continue;
    }
    cat->images_.push_back(*img);
  }
  cat->index();
  return std::shared_ptr<const Catalog>(cat);
}

std::shared_ptr<const Catalog> Catalog::without(const std::function<bool(const Image&)>& drop) const {
  auto cat = std::make_shared<Catalog>();
  for (const auto& img : images_) {
    if (!drop(*img)) cat->images_.push_back(img);
  }
  cat->index();
  return cat;
}

std::vector<ManifestEntry> Catalog::to_hash(const std::string& dir, uint64_t max_size, const Catalog* previous) {
  std::vector<std::string> errors;
  auto entries = manifest_read(manifest_path(dir), &errors);
  std::vector<ManifestEntry> out;
  if (!entries) return out;
  for (const ManifestEntry& e : *entries) {
    // An unchanged image is kept as it is (one stat); a missing or oversized
    // file is left to load(), which says why.
    if (e.size > max_size || unchanged(dir, e, max_size, previous)) continue;
    struct stat st;
    if (stat(image_path(dir, e.sha256).c_str(), &st) != 0) continue;
    out.push_back(e);
  }
  return out;
}

CatalogVerifier::CatalogVerifier(std::string dir, std::vector<ManifestEntry> entries)
    : dir_(std::move(dir)), entries_(std::move(entries)), hasher_(std::make_unique<Hasher>()) {
  open_next();
}

CatalogVerifier::~CatalogVerifier() {
  if (fd_ >= 0) close(fd_);
}

uint64_t CatalogVerifier::bytes_total() const {
  uint64_t n = 0;
  for (const ManifestEntry& e : entries_) n += e.size;
  return n;
}

void CatalogVerifier::open_next() {
  while (next_ < entries_.size()) {
    const std::string path = image_path(dir_, entries_[next_].sha256);
    fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd_ >= 0 && fstat(fd_, &st) == 0) {
      before_ = file_id(st);
      off_ = 0;
      hasher_->reset();
      return;
    }
    finish_file(strerror(errno));
  }
}

// Records the file (verified, or why not) and moves to the next.
void CatalogVerifier::finish_file(const char* failure) {
  const ManifestEntry& e = entries_[next_];
  const std::string path = image_path(dir_, e.sha256);
  if (failure) {
    out_.failed[e.sha256] = path + ": " + failure;
  } else {
    out_.verified[e.sha256] = before_;
  }
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  ++next_;
}

bool CatalogVerifier::step(size_t bytes) {
  static thread_local uint8_t buf[64 * 1024];
  while (!done() && bytes > 0) {
    const ManifestEntry& e = entries_[next_];
    const size_t want = static_cast<size_t>(std::min<uint64_t>({sizeof buf, bytes, before_.size - off_}));
    ssize_t got = want ? pread(fd_, buf, want, static_cast<off_t>(off_)) : 0;
    if (got < 0) {
      finish_file(strerror(errno));
      open_next();
      continue;
    }
    hasher_->update({buf, static_cast<size_t>(got)});
    off_ += static_cast<uint64_t>(got);
    bytes -= std::min(bytes, static_cast<size_t>(got));
    if (got > 0 && off_ < before_.size) continue;
    // The whole file: its digests against the manifest, its identity unchanged.
    const Digests d = hasher_->finish();
    struct stat st;
    const char* failure = nullptr;
    if (before_.size != e.size) failure = "size differs from the manifest";
    else if (off_ != e.size) failure = "file shrank while it was hashed";
    else if (fstat(fd_, &st) != 0 || !(file_id(st) == before_)) failure = "file changed while it was hashed";
    else if (d.sha256_hex() != e.sha256) failure = "SHA-256 does not match its name: corrupt";
    else if (d.sha1_hex() != e.sha1 || d.md5_hex() != e.md5) failure = "SHA-1/MD5 differ from the manifest: corrupt";
    finish_file(failure);
    open_next();
  }
  return done();
}

std::shared_ptr<const Catalog> Catalog::in_memory(const std::vector<ManifestEntry>& entries) {
  auto cat = std::make_shared<Catalog>();
  for (const ManifestEntry& e : entries) {
    auto img = std::make_shared<Image>();
    img->m = e;
    img->semver = parse_semver(e.version);
    memset(img->sha1, 0, sizeof img->sha1);
    cat->images_.push_back(img);
  }
  cat->index();
  return cat;
}

void Catalog::index() {
  for (const auto& img : images_) {
    by_sha256_[img->m.sha256] = img;
    auto& cur = (is_filesystem(img->m) ? current_fs_ : current_)[img->m.platform];
    if (!cur || image_newer(img->m, cur->m)) cur = img;
  }
}

std::shared_ptr<const Image> Catalog::current(std::string_view platform, bool filesystem) const {
  const Index& index = filesystem ? current_fs_ : current_;
  auto it = index.find(platform);
  return it == index.end() ? nullptr : it->second;
}

namespace {

// image_newer over the versions parsed at load, for per-request scans.
bool loaded_newer(const Image& a, const Image& b) {
  if (a.semver && b.semver) {
    int c = semver_compare(*a.semver, *b.semver);
    if (c != 0) return c > 0;
  } else if (a.semver || b.semver) {
    return a.semver.has_value();
  }
  return a.m.seq > b.m.seq;
}

}  // namespace

std::shared_ptr<const Image> Catalog::release(std::string_view platform, std::string_view version) const {
  std::shared_ptr<const Image> best;
  for (const auto& img : images_) {
    if (img->m.platform != platform || img->m.version != version || is_filesystem(img->m)) continue;
    if (!best || loaded_newer(*img, *best)) best = img;
  }
  return best;
}

std::shared_ptr<const Image> Catalog::newest_below(std::string_view platform, const Image& than) const {
  std::shared_ptr<const Image> best;
  for (const auto& img : images_) {
    if (img->m.platform != platform || is_filesystem(img->m) || img.get() == &than) continue;
    if (!loaded_newer(than, *img)) continue;
    if (!best || loaded_newer(*img, *best)) best = img;
  }
  return best;
}

std::shared_ptr<const Image> Catalog::by_sha256(std::string_view hex) const {
  auto it = by_sha256_.find(hex);
  return it == by_sha256_.end() ? nullptr : it->second;
}

}  // namespace otad
