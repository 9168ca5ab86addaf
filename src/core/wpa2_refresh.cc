// The RADIUS server's user files follow the registry (otad/wpa2.h): at
// start and at every reload, so a device disabled by hand in devices.ini
// leaves the Wi-Fi at the same SIGHUP that refuses it here. A change runs
// [wpa2] reload_command in its own process; the reactor polls it on its
// one-second tick and never waits for it.
#include "core/server.h"
#include "otad/log.h"
#include "otad/wpa2.h"

namespace otad {

void Server::wpa2_refresh() {
  auto changed = wpa2_sync({cfg_.eap_user_file, cfg_.radius_users_file, cfg_.nt_hash_file}, registry_);
  if (!changed) {
    LOG_ERROR("wpa2: %s; the RADIUS server's users stay as they were", changed.error().c_str());
    return;
  }
  if (!*changed) return;
  LOG_INFO("wpa2: RADIUS users rewritten from the registry%s",
           cfg_.wpa2_reload_command.empty() ? " (no reload_command: reload the RADIUS server yourself)" : "");
  if (cfg_.wpa2_reload_command.empty()) return;
  wpa2_reload_due_ = true;
  wpa2_poll();
}

void Server::wpa2_poll() {
  if (wpa2_cmd_.pid > 0) {
    std::string why;
    switch (command_poll(wpa2_cmd_, now_ms(), &why)) {
      case CommandState::Running:
        return;  // a change meanwhile runs it again once this one ends
      case CommandState::Done:
        LOG_INFO("wpa2: RADIUS server reloaded (%s)", wpa2_cmd_.text.c_str());
        break;
      case CommandState::Failed:
        LOG_ERROR("wpa2: reload_command '%s' failed (%s): the RADIUS server may still use its old users",
                  wpa2_cmd_.text.c_str(), why.c_str());
        break;
    }
  }
  if (!wpa2_reload_due_) return;
  wpa2_reload_due_ = false;
  auto c = command_start(cfg_.wpa2_reload_command, now_ms(), cfg_.wpa2_reload_timeout * 1000);
  if (!c) {
    LOG_ERROR("wpa2: reload_command '%s': %s", cfg_.wpa2_reload_command.c_str(), c.error().c_str());
    return;
  }
  wpa2_cmd_ = std::move(*c);
}

}  // namespace otad
