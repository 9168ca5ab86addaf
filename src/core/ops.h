// What handlers may ask of the server beyond reading its state: re-read the
// catalog after they wrote it, and the figures a status page shows. The
// reactor implements it; protocol code sees only this interface.
#pragma once
#include <cstdint>
#include <string_view>

#include "otad/hostapd_ctrl.h"
#include "otad/mac.h"
#include "otad/result.h"

namespace otad {

struct Conn;

struct ServerOps {
  // Loads the catalog from disk again (files unchanged since are not
  // re-hashed, nor the one just written by this process and hashed as it
  // came: just_written); transfers in flight keep the images they hold.
  virtual Status reload_catalog(std::string_view just_written = {}) = 0;
  virtual int64_t uptime_s() const = 0;
  // Connections streaming an image body right now.
  virtual uint32_t downloads_in_flight() const = 0;
  // verify_mac = neighbour: does the kernel's neighbour table show c's peer
  // at the link-layer address claimed? why: the reason when not.
  virtual bool mac_proven_by_link(const Conn& c, const Mac& claimed, char* why, size_t n) = 0;
  // verify_mac = hostapd: did the station log in over 802.1X as claimed?
  // Pending: hostapd has not answered yet; ask again shortly.
  virtual StationCheck station_check(const Mac& claimed, char* why, size_t n) = 0;
  // A credential of c's was refused (wrong password): counted against its
  // address, which is refused for a while once over [server] max_auth_failures.
  virtual void auth_failed(const Conn& c) = 0;

 protected:
  ~ServerOps() = default;
};

}  // namespace otad
