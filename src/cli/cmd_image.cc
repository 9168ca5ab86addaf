// otactl image inspect | make | add | list | remove
#include <cstdio>

#include "cli/api_client.h"
#include "cli/cli.h"
#include "otad/catalog.h"
#include "otad/catalog_store.h"
#include "otad/fsutil.h"
#include "otad/imagegen.h"
#include "otad/strict_num.h"

namespace otad::cli {
namespace {

using Bytes = std::span<const uint8_t>;
Bytes bytes_of(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

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

// The token for a running otad's admin API, or a message and nullopt.
std::optional<std::string> token_or_say(const Args& a) {
  auto t = api_token(a);
  if (!t) {
    fprintf(stderr, "otactl: otad is running and writes its catalog itself: give its admin token in $OTAD_TOKEN "
                    "or --token-file FILE (otactl admin token add NAME makes one)\n");
  }
  return t;
}

void print_added(const nlohmann::json& e) {
  printf("added %s %s (%s %s, %llu bytes, sha256 %s)\n", e.value("platform", "").c_str(), e.value("version", "").c_str(),
         e.value("chip", "").c_str(), e.value("kind", "").c_str(), e.value("size", 0ULL), e.value("sha256", "").c_str());
  printf("platform from %s, version from %s%s\n", e.value("platform_from", "").c_str(),
         e.value("version_from", "").c_str(), e.value("new_platform", false) ? " (a new platform)" : "");
  if (e.contains("note")) printf("note: %s\n", e["note"].get<std::string>().c_str());
}

int add_by_api(const Args& a, const Config& cfg, const std::string& base, const std::string& file) {
  auto token = token_or_say(a);
  if (!token) return kExitFail;
  std::string q = "?filename=" + url_escape(file.substr(file.rfind('/') + 1));
  if (a.has("--platform")) q += "&platform=" + url_escape(a.get("--platform"));
  if (a.has("--version")) q += "&version=" + url_escape(a.get("--version"));
  if (a.has("--kind")) q += "&kind=" + url_escape(a.get("--kind"));
  ApiReply r = api_call(cfg, base + "/api/images" + q, "POST", *token, &file);
  if (!r.error.empty()) {
    fprintf(stderr, "otactl: %s: %s%s\n", file.c_str(), r.error.c_str(),
            r.status == 422 && r.error.find("found") != std::string::npos ? " (otactl: give --platform and --version)" : "");
    return r.status == 400 ? kExitUsage : kExitFail;
  }
  if (r.status == 200) {
    const auto& e = r.body["image"];
    printf("%s: already in the catalog as %s %s\n", file.c_str(), e.value("platform", "").c_str(),
           e.value("version", "").c_str());
    const bool same = (!a.has("--platform") || a.get("--platform") == e.value("platform", "")) &&
                      (!a.has("--version") || a.get("--version") == e.value("version", ""));
    return same ? kExitOk : kExitFail;
  }
  print_added(r.body);
  return kExitOk;
}

int add(const Args& a) {
  if (a.pos.size() != 1 || !only_flags(a, {"--platform", "--version", "--kind", "--token-file"}) ||
      (a.has("--kind") && a.get("--kind") != "app" && a.get("--kind") != "filesystem")) {
    fprintf(stderr, "usage: otactl image add FILE [--platform P] [--version V] [--kind app|filesystem]\n");
    return kExitUsage;
  }
  Config cfg;
  if (!load_config(a, &cfg)) return kExitFail;
  const std::string& file = a.pos[0];
  if (auto base = api_base(cfg)) return add_by_api(a, cfg, *base, file);
  auto data = read_file(file, static_cast<size_t>(cfg.max_image_size));
  if (!data) {
    fprintf(stderr, "otactl: %s: %s\n", file.c_str(), data.error().c_str());
    return kExitFail;
  }
  DetectRequest req;
  req.platform = a.get("--platform", "");
  req.version = a.get("--version", "");
  req.filename = file;
  req.filesystem = a.get("--kind", "app") == "filesystem";
  AddOutcome o = catalog_add(cfg.catalog_dir, bytes_of(*data), req, static_cast<uint64_t>(cfg.max_image_size));
  switch (o.err) {
    case StoreErr::None: break;
    case StoreErr::Refused:
    case StoreErr::NoSpace:
    case StoreErr::Io:
      fprintf(stderr, "otactl: %s: %s\n", file.c_str(), o.message.c_str());
      return kExitFail;
    case StoreErr::Undetected:
      fprintf(stderr, "otactl: %s: %s (otactl: give --platform and --version)\n", file.c_str(), o.message.c_str());
      return kExitFail;
    case StoreErr::BadName:
      fprintf(stderr, "otactl: %s\n", o.message.c_str());
      return kExitUsage;
    case StoreErr::Conflict:
      fprintf(stderr, "otactl: %s\n", o.message.c_str());
      return kExitFail;
    case StoreErr::Broken:
      fprintf(stderr, "%s\notactl: the manifest is broken; fix it before adding\n", o.message.c_str());
      return kExitFail;
  }
  const ManifestEntry& e = o.entry;
  if (o.already) {
    printf("%s: already in the catalog as %s %s\n", file.c_str(), e.platform.c_str(), e.version.c_str());
    return e.platform == o.platform && e.version == o.version ? kExitOk : kExitFail;
  }
  if (!o.semver) {
    fprintf(stderr, "otactl: warning: version '%s' is not a semantic version; it ranks below "
                    "every semantic version of %s\n", e.version.c_str(), e.platform.c_str());
  }
  printf("added %s %s (%s %s, %llu bytes, sha256 %s)\n", e.platform.c_str(), e.version.c_str(), e.chip.c_str(),
         e.kind.c_str(), static_cast<unsigned long long>(e.size), e.sha256.c_str());
  printf("platform from %s, version from %s%s\n", o.detected.platform_from.c_str(), o.detected.version_from.c_str(),
         o.detected.new_platform ? " (a new platform)" : "");
  if (o.info.note) printf("note: %s\n", o.info.note);
  return notify_daemon(cfg) ? kExitOk : kExitFail;
}

// The catalog as the running otad lists it, else as the store holds it.
Result<std::vector<Listed>> listing(const Args& a, const Config& cfg) {
  auto base = api_base(cfg);
  if (!base) return catalog_list(cfg.catalog_dir);
  auto token = token_or_say(a);
  if (!token) return Err("no admin token");
  ApiReply r = api_call(cfg, *base + "/api/images", "GET", *token);
  if (!r.error.empty()) return Err(r.error);
  std::vector<Listed> out;
  for (const auto& j : r.body) {
    ManifestEntry e;
    e.sha256 = j.value("sha256", "");
    e.platform = j.value("platform", "");
    e.version = j.value("version", "");
    e.chip = j.value("chip", "");
    e.kind = j.value("kind", "");
    e.size = j.value("size", 0ULL);
    e.md5 = j.value("md5", "");
    e.sha1 = j.value("sha1", "");
    e.added = j.value("added", "");
    out.push_back({e, j.value("current", false)});
  }
  return out;
}

int list(const Args& a) {
  if (!a.pos.empty() || !only_flags(a, {"--json", "--token-file"})) {
    fprintf(stderr, "usage: otactl image list [--json]\n");
    return kExitUsage;
  }
  Config cfg;
  if (!load_config(a, &cfg)) return kExitFail;
  auto listed = listing(a, cfg);
  if (!listed) {
    fprintf(stderr, "%s\n", listed.error().c_str());
    return kExitFail;
  }
  if (a.has("--json")) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& [e, current] : *listed) {
      arr.push_back({{"sha256", e.sha256}, {"platform", e.platform}, {"version", e.version},
                     {"chip", e.chip}, {"kind", e.kind}, {"size", e.size}, {"md5", e.md5},
                     {"sha1", e.sha1}, {"added", e.added}, {"current", current}});
    }
    printf("%s\n", arr.dump(1).c_str());
    return kExitOk;
  }
  printf("%-16s %-14s %-9s %10s  %-12s %s\n", "PLATFORM", "VERSION", "CHIP", "SIZE", "SHA256", "");
  for (const auto& [e, current] : *listed) {
    printf("%-16s %-14s %-9s %10llu  %.12s %s\n", e.platform.c_str(), e.version.c_str(),
           e.chip.c_str(), static_cast<unsigned long long>(e.size), e.sha256.c_str(), current ? "current" : "");
  }
  return kExitOk;
}

int remove(const Args& a) {
  if (a.pos.size() != 1 || a.pos[0].size() < 6 || !only_flags(a, {"--token-file"})) {
    fprintf(stderr, "usage: otactl image remove SHA256-PREFIX (at least 6 hex digits)\n");
    return kExitUsage;
  }
  Config cfg;
  if (!load_config(a, &cfg)) return kExitFail;
  if (auto base = api_base(cfg)) {
    auto listed = listing(a, cfg);
    if (!listed) {
      fprintf(stderr, "otactl: %s\n", listed.error().c_str());
      return kExitFail;
    }
    std::vector<ManifestEntry> hits;
    for (const Listed& l : *listed) {
      if (l.entry.sha256.rfind(a.pos[0], 0) == 0) hits.push_back(l.entry);
    }
    if (hits.size() != 1) {
      fprintf(stderr, "otactl: %s matches %zu images\n", a.pos[0].c_str(), hits.size());
      return kExitFail;
    }
    ApiReply r = api_call(cfg, *base + "/api/images/" + hits[0].sha256, "DELETE", *api_token(a));
    if (!r.error.empty()) {
      fprintf(stderr, "otactl: %s\n", r.error.c_str());
      return kExitFail;
    }
    printf("removed %s %s (sha256 %s)\n", hits[0].platform.c_str(), hits[0].version.c_str(), hits[0].sha256.c_str());
    return kExitOk;
  }
  auto gone = catalog_remove(cfg.catalog_dir, a.pos[0]);
  if (!gone) {
    fprintf(stderr, "otactl: %s\n", gone.error().c_str());
    return kExitFail;
  }
  printf("removed %s %s (sha256 %s)\n", gone->platform.c_str(), gone->version.c_str(), gone->sha256.c_str());
  return notify_daemon(cfg) ? kExitOk : kExitFail;
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
