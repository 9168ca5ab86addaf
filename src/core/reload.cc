// Reloading what the server serves: the whole configuration, catalog and
// registry on SIGHUP; the catalog alone after the admin API wrote it, or
// after a transfer found an image file changed under it.
#include "core/server.h"
#include "otad/log.h"

namespace otad {

void Server::reload() {
  std::vector<std::string> errors, warnings;
  auto nc = config_load(config_path_, &errors);
  if (!nc) {
    for (const auto& e : errors) LOG_ERROR("reload: %s", e.c_str());
    LOG_ERROR("reload failed; still running on the previous configuration");
    return;
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
  auto cat = Catalog::load(nc->catalog_dir, static_cast<uint64_t>(nc->max_image_size),
                           catalog_.get(), &errors, &warnings);
  auto reg = Registry::load(nc->devices_file, &errors);
  for (const auto& w : warnings) LOG_WARN("reload: %s", w.c_str());
  if (!cat || !reg) {
    for (const auto& e : errors) LOG_ERROR("reload: %s", e.c_str());
    LOG_ERROR("reload failed; still serving the previous catalog and devices");
    return;
  }
  cfg_ = std::move(*nc);
  catalog_ = std::move(*cat);
  registry_ = std::move(*reg);
  LogLevel lvl;
  if (log_level_from_name(cfg_.log_level, &lvl)) log_set_level(lvl);
  log_to_syslog(cfg_.log_target == "syslog");
  fleet_configure(false);
  wpa2_refresh();
  sync_context();
  for (auto& hook : reload_hooks_) hook(cfg_);
  LOG_INFO("reloaded: %zu image(s), %zu device(s); %u transfer(s) in flight continue",
           catalog_->images().size(), registry_.size(), stats_.active);
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
  std::vector<std::string> errors, warnings;
  auto cat = Catalog::load(cfg_.catalog_dir, static_cast<uint64_t>(cfg_.max_image_size),
                           catalog_.get(), &errors, &warnings);
  for (const auto& w : warnings) LOG_WARN("catalog re-check: %s", w.c_str());
  if (!cat) {
    for (const auto& e : errors) LOG_ERROR("catalog re-check: %s", e.c_str());
    return;
  }
  catalog_ = std::move(*cat);
  sync_context();
  LOG_WARN("catalog re-checked after an image file changed on disk: %zu image(s) usable",
           catalog_->images().size());
}

}  // namespace otad
