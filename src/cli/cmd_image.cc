// otactl image inspect | make | add | list | remove
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "cli/cli.h"
#include "otad/catalog.h"
#include "otad/fsutil.h"
#include "otad/imagegen.h"
#include "otad/strict_num.h"

namespace otad::cli {
namespace {

using Bytes = std::span<const uint8_t>;
Bytes bytes_of(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

bool name_ok(const std::string& s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '+'))
      return false;
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

// Serialises writers of one catalog (two otactl at once must not lose an add).
struct CatalogLock {
  int fd = -1;
  explicit CatalogLock(const std::string& dir) {
    fd = open((dir + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) flock(fd, LOCK_EX);
  }
  ~CatalogLock() {
    if (fd >= 0) close(fd);
  }
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

int inspect(const Args& a) {
  if (a.pos.size() != 1 || !only_flags(a, {"--json"})) {
    fprintf(stderr, "usage: otactl image inspect FILE [--json]\n");
    return kExitUsage;
  }
  auto data = read_file(a.pos[0], 256u << 20);
  if (!data) {
    fprintf(stderr, "otactl: %s: %s\n", a.pos[0].c_str(), data.error().c_str());
    return kExitFail;
  }
  ImageInfo info = inspect_image(bytes_of(*data));
  Digests d = digest_bytes(bytes_of(*data));
  nlohmann::json j = image_json(info, d);
  j["file"] = a.pos[0];
  if (a.has("--json")) {
    printf("%s\n", j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return kExitOk;
  }
  auto s = [&](const char* k) {
    return j[k].is_null() ? std::string("-") : j[k].is_string() ? j[k].get<std::string>() : j[k].dump();
  };
  printf("%s: %s %s %s (%s)\n", a.pos[0].c_str(), s("kind").c_str(), s("family").c_str(),
         s("chip").c_str(), s("format").c_str());
  printf("  project %s  version %s  idf %s  date %s\n", s("project").c_str(), s("version").c_str(),
         s("idf").c_str(), s("date").c_str());
  printf("  size %u  md5 %s  sha256 %s\n", info.size, d.md5_hex().c_str(), d.sha256_hex().c_str());
  if (info.note) printf("  note: %s\n", info.note);
  printf("  %s\n", info.reason ? (std::string("refused: ") + info.reason).c_str() : "accepted");
  return kExitOk;
}

int make(const Args& a) {
  if (!a.pos.empty() || !a.has("--output") ||
      !only_flags(a, {"--output", "--chip", "--project", "--version", "--size", "--secure-version",
                      "--crc-patch"})) {
    fprintf(stderr, "usage: otactl image make -o FILE [--chip C] [--project P] [--version V] "
                    "[--size BYTES] [--secure-version N] [--crc-patch]\n");
    return kExitUsage;
  }
  ImageSpec spec;
  spec.chip = a.get("--chip", spec.chip);
  spec.project = a.get("--project", spec.project);
  spec.version = a.get("--version", spec.version);
  if (a.has("--size")) {
    auto n = parse_int_strict(a.get("--size"), 512, 64 << 20);
    if (!n) {
      fprintf(stderr, "otactl: --size: %s\n", n.error().c_str());
      return kExitUsage;
    }
    spec.size = static_cast<uint64_t>(*n);
  }
  if (a.has("--secure-version")) {
    auto n = parse_int_strict(a.get("--secure-version"), 0, 0xFFFFFFFF);
    if (!n) {
      fprintf(stderr, "otactl: --secure-version: %s\n", n.error().c_str());
      return kExitUsage;
    }
    spec.secure_version = static_cast<uint32_t>(*n);
  }
  spec.esp8266_crc_patch = a.has("--crc-patch");
  auto img = make_image(spec);
  if (!img) {
    fprintf(stderr, "otactl: %s\n", img.error().c_str());
    return kExitUsage;
  }
  const std::string out = a.get("--output");
  Status s = write_file_atomic(out, {reinterpret_cast<const char*>(img->data()), img->size()});
  if (!s) {
    fprintf(stderr, "otactl: %s\n", s.error().c_str());
    return kExitFail;
  }
  printf("%s: %s %s %s, %zu bytes\n", out.c_str(), spec.chip.c_str(), spec.project.c_str(),
         spec.version.c_str(), img->size());
  return kExitOk;
}

int add(const Args& a) {
  if (a.pos.size() != 1 || !only_flags(a, {"--platform", "--version"})) {
    fprintf(stderr, "usage: otactl image add FILE [--platform P] [--version V]\n");
    return kExitUsage;
  }
  Config cfg;
  if (!load_config(a, &cfg)) return kExitFail;
  const std::string& file = a.pos[0];
  auto data = read_file(file, static_cast<size_t>(cfg.max_image_size));
  if (!data) {
    fprintf(stderr, "otactl: %s: %s\n", file.c_str(), data.error().c_str());
    return kExitFail;
  }
  ImageInfo info = inspect_image(bytes_of(*data));
  if (info.reason) {
    fprintf(stderr, "otactl: %s: refused: %s\n", file.c_str(), info.reason);
    return kExitFail;
  }
  const bool desc = info.has_app_desc && !info.arduino;
  std::string platform = a.get("--platform", desc ? info.desc.project : "");
  std::string version = a.get("--version", desc ? info.desc.version : "");
  if (platform.empty() || version.empty()) {
    fprintf(stderr, "otactl: %s: the image does not say its %s%s; give --platform and --version\n",
            file.c_str(), platform.empty() ? "platform" : "version",
            info.arduino ? " (Arduino-ESP32 builds name the framework, not the sketch)" : "");
    return kExitFail;
  }
  if (!name_ok(platform, 64) || !name_ok(version, 64)) {
    fprintf(stderr, "otactl: platform and version may hold letters, digits and . _ - + only "
                    "(at most 64 characters)\n");
    return kExitUsage;
  }
  if (!parse_semver(version)) {
    fprintf(stderr, "otactl: warning: version '%s' is not a semantic version; it ranks below "
                    "every semantic version of %s\n", version.c_str(), platform.c_str());
  }
  Digests d = digest_bytes(bytes_of(*data));
  Status mk = make_dirs(cfg.catalog_dir);
  if (!mk) {
    fprintf(stderr, "otactl: %s\n", mk.error().c_str());
    return kExitFail;
  }
  CatalogLock lock(cfg.catalog_dir);
  auto entries = read_manifest_or_empty(cfg.catalog_dir);
  if (!entries) {
    fprintf(stderr, "%s\notactl: the manifest is broken; fix it before adding\n", entries.error().c_str());
    return kExitFail;
  }
  uint64_t seq = 0;
  for (const ManifestEntry& e : *entries) {
    seq = std::max(seq, e.seq);
    if (e.sha256 == d.sha256_hex()) {
      printf("%s: already in the catalog as %s %s\n", file.c_str(), e.platform.c_str(), e.version.c_str());
      return e.platform == platform && e.version == version ? kExitOk : kExitFail;
    }
    if (e.platform == platform && e.version == version) {
      fprintf(stderr, "otactl: %s %s already exists with other bytes (sha256 %s); versions are "
                      "immutable: remove it first or use a new version\n",
              platform.c_str(), version.c_str(), e.sha256.c_str());
      return kExitFail;
    }
  }
  ManifestEntry e;
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
  Status s = write_file_atomic(image_path(cfg.catalog_dir, e.sha256), *data);
  if (s) {
    entries->push_back(e);
    s = manifest_write(manifest_path(cfg.catalog_dir), *entries);
  }
  if (!s) {
    fprintf(stderr, "otactl: %s\n", s.error().c_str());
    return kExitFail;
  }
  printf("added %s %s (%s %s, %u bytes, sha256 %s)\n", platform.c_str(), version.c_str(), e.chip.c_str(),
         e.kind.c_str(), info.size, e.sha256.c_str());
  if (info.note) printf("note: %s\n", info.note);
  notify_daemon(cfg);
  return kExitOk;
}

int list(const Args& a) {
  if (!a.pos.empty() || !only_flags(a, {"--json"})) {
    fprintf(stderr, "usage: otactl image list [--json]\n");
    return kExitUsage;
  }
  Config cfg;
  if (!load_config(a, &cfg)) return kExitFail;
  auto entries = read_manifest_or_empty(cfg.catalog_dir);
  if (!entries) {
    fprintf(stderr, "%s\n", entries.error().c_str());
    return kExitFail;
  }
  // Which image each platform serves now: the same rule otad applies.
  std::map<std::string, const ManifestEntry*> current;
  for (const ManifestEntry& e : *entries) {
    auto& c = current[e.platform];
    if (!c || image_newer(e, *c)) c = &e;
  }
  if (a.has("--json")) {
    nlohmann::json arr = nlohmann::json::array();
    for (const ManifestEntry& e : *entries) {
      arr.push_back({{"sha256", e.sha256}, {"platform", e.platform}, {"version", e.version},
                     {"chip", e.chip}, {"kind", e.kind}, {"size", e.size}, {"md5", e.md5},
                     {"sha1", e.sha1}, {"added", e.added}, {"current", current[e.platform] == &e}});
    }
    printf("%s\n", arr.dump(1).c_str());
    return kExitOk;
  }
  printf("%-16s %-14s %-9s %10s  %-12s %s\n", "PLATFORM", "VERSION", "CHIP", "SIZE", "SHA256", "");
  for (const ManifestEntry& e : *entries) {
    printf("%-16s %-14s %-9s %10llu  %.12s %s\n", e.platform.c_str(), e.version.c_str(),
           e.chip.c_str(), static_cast<unsigned long long>(e.size), e.sha256.c_str(),
           current[e.platform] == &e ? "current" : "");
  }
  return kExitOk;
}

int remove(const Args& a) {
  if (a.pos.size() != 1 || a.pos[0].size() < 6 || !only_flags(a, {})) {
    fprintf(stderr, "usage: otactl image remove SHA256-PREFIX (at least 6 hex digits)\n");
    return kExitUsage;
  }
  Config cfg;
  if (!load_config(a, &cfg)) return kExitFail;
  CatalogLock lock(cfg.catalog_dir);
  auto entries = read_manifest_or_empty(cfg.catalog_dir);
  if (!entries) {
    fprintf(stderr, "%s\n", entries.error().c_str());
    return kExitFail;
  }
  std::vector<ManifestEntry> keep;
  const ManifestEntry* gone = nullptr;
  int matches = 0;
  for (const ManifestEntry& e : *entries) {
    if (e.sha256.rfind(a.pos[0], 0) == 0) {
      ++matches;
      gone = &e;
    } else {
      keep.push_back(e);
    }
  }
  if (matches != 1) {
    fprintf(stderr, "otactl: %s matches %d images\n", a.pos[0].c_str(), matches);
    return kExitFail;
  }
  Status s = manifest_write(manifest_path(cfg.catalog_dir), keep);
  if (!s) {
    fprintf(stderr, "otactl: %s\n", s.error().c_str());
    return kExitFail;
  }
  // otad keeps serving from its open descriptor until it reloads.
  unlink(image_path(cfg.catalog_dir, gone->sha256).c_str());
  printf("removed %s %s (sha256 %s)\n", gone->platform.c_str(), gone->version.c_str(), gone->sha256.c_str());
  notify_daemon(cfg);
  return kExitOk;
}

}  // namespace

int cmd_image(const std::string& verb, const Args& a) {
  if (verb == "inspect") return inspect(a);
  if (verb == "make") return make(a);
  if (verb == "add") return add(a);
  if (verb == "list") return list(a);
  if (verb == "remove") return remove(a);
  fprintf(stderr, "otactl: unknown command 'image %s'\n", verb.c_str());
  return kExitUsage;
}

}  // namespace otad::cli
