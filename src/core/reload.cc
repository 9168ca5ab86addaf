// Reloading what the server serves: the whole configuration, catalog and
// registry on SIGHUP; the catalog alone after the admin API wrote it, or
// after a transfer found an image file changed under it.
#include <event2/event.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/server.h"
#include "otad/fsutil.h"
#include "otad/log.h"

namespace otad {
namespace {

// A reload must not empty the gateway by accident: a config cut short or
// emptied by an editor falls back to default paths, and a devices file
// that vanished reads as "no devices", under which a revoked device would
// be served as an unknown one. Such a reload is refused; "" = acceptable.
struct Before {
  const Config& cfg;
  size_t images, devices;
};

std::string reload_hazard(const std::string& config_path, const Config& nc, const Before& was, const Registry* reg) {
  auto text = read_file(config_path, 1 << 20);
  bool any = false;
  if (text) {
    for (size_t i = 0; i < text->size() && !any;) {
      size_t j = text->find('\n', i);
      if (j == std::string::npos) j = text->size();
      const std::string_view line = std::string_view(*text).substr(i, j - i);
      const size_t k = line.find_first_not_of(" \t\r");
      any = k != std::string_view::npos && line[k] != ';' && line[k] != '#';
      i = j + 1;
    }
  }
  if (!any) return config_path + ": the file is empty: nothing to run on";
  // A catalog dir that was never made (a new gateway, no image yet) is
  // fine; one that does not exist where images were served, or that moved
  // to a path that does not exist, is not.
  struct stat st;
  const bool missing = stat(nc.catalog_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode);
  if (missing && (was.images > 0 || nc.catalog_dir != was.cfg.catalog_dir)) {
    return config_path + ": [catalog] dir " + nc.catalog_dir + " does not exist (a config cut short falls back to "
           "the default)";
  }
  // A registry otactl emptied keeps its header; a vanished or blanked file
  // is an accident (an editor, a full disk, a lost mount).
  if (reg && was.devices > 0 && reg->size() == 0 && !nc.devices_file.empty()) {
    auto d = file_exists(nc.devices_file) ? read_file(nc.devices_file, 1 << 20) : Result<std::string>(Err("missing"));
    if (!d || d->find_first_not_of(" \t\r\n") == std::string::npos) {
      return nc.devices_file + (d ? " is empty" : " is missing") + ", where " + std::to_string(was.devices) +
             " device(s) were registered: revoked ones would be served as unknown";
    }
  }
  return "";
}

}  // namespace

// The reload itself: "" when it took, else why not (logged here); none
// while new image files are hashed.
std::optional<std::string> Server::try_reload() {
  std::vector<std::string> errors, warnings;
  auto nc = config_load(config_path_, &errors);
  if (!nc) {
    for (const auto& e : errors) LOG_ERROR("reload: %s", e.c_str());
    LOG_ERROR("reload failed; still running on the previous configuration");
    return errors.empty() ? "the configuration does not load" : errors[0];
  }
  if (std::string h = reload_hazard(config_path_, *nc, {cfg_, catalog_->images().size(), registry_.size()}, nullptr); !h.empty()) {
    LOG_ERROR("reload refused: %s; still running on the previous configuration, catalog and devices", h.c_str());
    return h;
  }
  // Keys that shape the slab and the sockets keep their start-up values.
  for (const KeySpec& k : config_table()) {
    if (k.reloadable) continue;
    std::string was = config_value(cfg_, k), now = config_value(*nc, k);
    if (was != now) {
      LOG_WARN("reload: %s.%s changed (%s -> %s); it takes effect after a restart", k.section,
               k.name, was.c_str(), now.c_str());
      std::visit([&](auto f) { (*nc).*f = cfg_.*f; }, k.field);
    }
  }
  auto reg = Registry::load(nc->devices_file, &errors);
  if (!reg) {
    for (const auto& e : errors) LOG_ERROR("reload: %s", e.c_str());
    LOG_ERROR("reload failed; still serving the previous catalog and devices");
    return errors.empty() ? "the devices do not load" : errors[0];
  }
  // New or changed image files are hashed a slice at a time (hash_slice);
  // the reload completes when they are done, serving what it has meanwhile.
  std::vector<ManifestEntry> todo = Catalog::to_hash(nc->catalog_dir, static_cast<uint64_t>(nc->max_image_size), catalog_.get());
  if (!todo.empty()) {
    const std::string dir = nc->catalog_dir;
    begin_hashing(std::unique_ptr<PendingReload>(new PendingReload{
        std::move(*nc), std::move(*reg), true, std::make_unique<CatalogVerifier>(dir, std::move(todo))}));
    return std::nullopt;
  }
  return finish_reload(std::move(*nc), std::move(*reg), nullptr);
}

// The reload's second half, once every new image file is hashed.
std::string Server::finish_reload(Config nc, Registry reg, const Prehashed* pre) {
  std::vector<std::string> errors, warnings;
  auto cat = Catalog::load(nc.catalog_dir, static_cast<uint64_t>(nc.max_image_size), catalog_.get(), &errors,
                           &warnings, {}, pre);
  for (const auto& w : warnings) LOG_WARN("reload: %s", w.c_str());
  if (!cat) {
    for (const auto& e : errors) LOG_ERROR("reload: %s", e.c_str());
    LOG_ERROR("reload failed; still serving the previous catalog and devices");
    return errors.empty() ? "the catalog does not load" : errors[0];
  }
  if (std::string h = reload_hazard(config_path_, nc, {cfg_, catalog_->images().size(), registry_.size()}, &reg); !h.empty()) {
    LOG_ERROR("reload refused: %s; still running on the previous configuration, catalog and devices", h.c_str());
    return h;
  }
  cfg_ = std::move(nc);
  catalog_ = std::move(*cat);
  registry_ = std::move(reg);
  cut_revoked();
  LogLevel lvl;
  if (log_level_from_name(cfg_.log_level, &lvl)) log_set_level(lvl);
  log_to_syslog(cfg_.log_target == "syslog");
  fleet_configure(false);
  wpa2_refresh();
  sync_context();
  for (auto& hook : reload_hooks_) hook(cfg_);
  LOG_INFO("reloaded: %zu image(s), %zu device(s); %u transfer(s) in flight continue",
           catalog_->images().size(), registry_.size(), stats_.active);
  return "";
}

// Each SIGHUP's outcome goes beside the pid file ("<pid> <n> ok", or
// "<pid> <n> refused: <why>"), so that otactl reports what otad did, not
// only that the signal was delivered.
void Server::reload() {
  if (std::optional<std::string> why = try_reload()) report_reload(*why);
}

void Server::report_reload(const std::string& why) {
  ++reloads_;
  if (cfg_.pid_file.empty()) return;
  const std::string line = std::to_string(getpid()) + " " + std::to_string(reloads_) +
                           (why.empty() ? " ok" : " refused: " + why) + "\n";
  if (Status st = write_file_atomic(cfg_.pid_file + ".reload", line); !st) {
    LOG_WARN("reload: cannot write its outcome for otactl: %s", st.error().c_str());
  }
}

// Revocation reaches transfers in flight too: a device disabled by this
// reload loses the body it is being sent (it sees a short body, never a
// whole one), while every other transfer continues.
void Server::cut_revoked() {
  for (uint32_t i = 0; i < slots_used_; ++i) {
    Conn& c = slab_[i];
    if (c.state != ConnState::Protocol || !c.devices || !c.mac[0] || !c.body.image || c.body.off >= c.body.end) continue;
    auto mac = parse_mac(c.mac);
    const Device* d = mac ? registry_.find(*mac) : nullptr;
    if (!d || d->enabled) continue;
    cut(c, "revocation");
  }
}

// One record (aborted at byte N, by whom) and the slot reset.
void Server::cut(Conn& c, const char* by) {
  char what[96];
  snprintf(what, sizeof what, "cut by %s after %llu of %llu bytes", by, static_cast<unsigned long long>(c.body.off),
           static_cast<unsigned long long>(c.body.end));
  transfers_.end(c, {.outcome = Outcome::Aborted, .image = c.body.image.get(), .bytes = c.body.sent,
                     .started_ms = c.started_ms, .what = what});
  slot_free(c, true);
}

Status Server::reload_catalog(std::string_view just_written) {
  std::vector<std::string> errors, warnings;
  auto cat = Catalog::load(cfg_.catalog_dir, static_cast<uint64_t>(cfg_.max_image_size), catalog_.get(), &errors,
                           &warnings, just_written);
  for (const auto& w : warnings) LOG_WARN("catalog: %s", w.c_str());
  if (!cat) return Err(errors.empty() ? cat.error() : errors[0]);
  catalog_ = std::move(*cat);
  sync_context();
  return Ok();
}

// A file changed under a transfer. Reloading the catalog re-hashes every
// file whose inode, size or mtime changed, leaves out the broken one and lets
// its platform fall back to the newest intact image; transfers in flight keep
// the Image they hold.
void Server::reverify_catalog() {
  // At once: the changed files are no longer offered. Then they are hashed
  // again a slice at a time, like a reload's new images.
  catalog_ = catalog_->without([](const Image& img) { return image_file_change(img) != nullptr; });
  sync_context();
  std::vector<ManifestEntry> todo =
      Catalog::to_hash(cfg_.catalog_dir, static_cast<uint64_t>(cfg_.max_image_size), catalog_.get());
  LOG_WARN("catalog: an image file changed on disk; %zu image(s) still offered, %zu file(s) to check again",
           catalog_->images().size(), todo.size());
  if (pending_ || todo.empty()) return;  // a reload in progress checks them too
  begin_hashing(std::unique_ptr<PendingReload>(new PendingReload{
      cfg_, registry_, false, std::make_unique<CatalogVerifier>(cfg_.catalog_dir, std::move(todo))}));
}

void Server::begin_hashing(std::unique_ptr<PendingReload> p) {
  if (pending_ && pending_->sighup && !p->sighup) return;
  if (pending_ && pending_->sighup) report_reload("superseded by a newer SIGHUP");
  LOG_INFO("catalog: hashing %llu bytes of new or changed image files a slice at a time; serving the current "
           "catalog meanwhile", static_cast<unsigned long long>(p->verifier->bytes_total()));
  pending_ = std::move(p);
  pending_started_ms_ = now_ms();
  timeval tv{0, 0};
  event_add(hash_timer_, &tv);
}

// One slice (about kHashSliceMs of hashing), then back to the reactor.
void Server::hash_slice() {
  if (!pending_) return;
  constexpr int64_t kHashSliceMs = 5;
  const int64_t t0 = now_ms();
  while (!pending_->verifier->done() && now_ms() - t0 < kHashSliceMs) pending_->verifier->step(64 * 1024);
  if (!pending_->verifier->done()) {
    timeval tv{0, 0};
    event_add(hash_timer_, &tv);
    return;
  }
  std::unique_ptr<PendingReload> p = std::move(pending_);
  LOG_INFO("catalog: hashed in %.3f s", (now_ms() - pending_started_ms_) / 1000.0);
  if (p->sighup) {
    report_reload(finish_reload(std::move(p->cfg), std::move(p->reg), &p->verifier->result()));
    return;
  }
  std::vector<std::string> errors, warnings;
  auto cat = Catalog::load(cfg_.catalog_dir, static_cast<uint64_t>(cfg_.max_image_size), catalog_.get(), &errors,
                           &warnings, {}, &p->verifier->result());
  for (const auto& w : warnings) LOG_WARN("catalog re-check: %s", w.c_str());
  if (!cat) {
    for (const auto& e : errors) LOG_ERROR("catalog re-check: %s", e.c_str());
    return;
  }
  catalog_ = std::move(*cat);
  sync_context();
  LOG_WARN("catalog re-checked after an image file changed on disk: %zu image(s) usable", catalog_->images().size());
}

}  // namespace otad
