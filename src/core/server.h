// The reactor: one event_base, one thread. Owns the connection slab, the
// listeners, signals, the loaded state (config, catalog, devices) and its
// reload, and graceful shutdown. It knows protocols and transports only
// through the Protocol table entry and the TransportPool interface each
// listener was given (the program's main wires them: src/daemon).
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/conn.h"
#include "core/neighbours.h"
#include "core/peers.h"
#include "otad/hostapd_ctrl.h"
#include "core/context.h"
#include "core/ops.h"
#include "core/transfer.h"
#include "otad/catalog.h"
#include "otad/command.h"
#include "otad/config.h"
#include "otad/devices.h"
#include "otad/fleet.h"

struct event_base;
struct event;

namespace otad {

// One listening socket: a config section's address and port, the protocol
// spoken there, the transport (pooled, or plain TCP) and the auth demanded.
struct ListenerSpec {
  std::string name;               // the config section, and the log tag
  const Protocol* proto = nullptr;
  TransportPool* pool = nullptr;  // null: plain TCP
  std::string Config::* auth_key = nullptr;  // the section's auth key, if it has one
  std::string addr;
  int port = 0;
  bool devices = true;  // false: the operator's listener (admin), kept out of device state and events
  std::string Config::* verify_mac_key = nullptr;  // the section's verify_mac key, if it has one
};

struct Listener {
  alignas(16) unsigned char ev[kEventStorage];
  int fd = -1;
  bool armed = false;
  bool pool_busy = false;  // off: every pooled transport context busy
  bool pool_warned = false;  // ... and said so (once until it resumes)
  ListenerSpec spec;
  Auth auth = Auth::None;
  bool verify_link = false;     // verify_mac = neighbour or hostapd (from the config, at start and reload)
  bool verify_station = false;  // verify_mac = hostapd
  void* owner = nullptr;
};

class Server final : public ServerOps {
 public:
  Server(std::string config_path, Config cfg, std::shared_ptr<const Catalog> cat, Registry reg);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The live registry (replaced in place on reload): transports that check
  // credentials read it at each handshake.
  const Registry* registry() const { return &registry_; }
  void add_listener(ListenerSpec spec);
  // Called after each successful reload with the new configuration (admin
  // tokens and the like re-read their files here).
  void on_reload(std::function<void(const Config&)> hook) { reload_hooks_.push_back(std::move(hook)); }

  // ServerOps
  Status reload_catalog(std::string_view just_written) override;
  int64_t uptime_s() const override;
  uint32_t downloads_in_flight() const override;
  bool mac_proven_by_link(const Conn& c, const Mac& claimed, char* why, size_t n) override;
  StationCheck station_check(const Mac& claimed, char* why, size_t n) override;
  void auth_failed(const Conn& c) override;

  // Opens listeners and runs until shut down. Returns the exit status.
  int run();

  // Trampolines from libevent's C callbacks.
  void on_conn_event(Conn& c, short what);
  void on_accept(Listener& l);
  void on_signal(int sig);
  void on_timer(int which);

 private:
  Status open_listener(Listener& l);
  void close_listeners();
  void listeners_enable(bool on);
  void accept_resume_check();
  void pool_resume_check();
  Conn* slot_alloc();
  // fairness.cc: the per-address caps, eviction, pressure.
  bool admit_peer(Listener& l, int fd, const PeerAddr& a, const char* peer);
  void peer_gone(Conn& c);
  void handshake_over(Conn& c);
  bool evict(TransportPool* pool);
  Conn* pick_victim(TransportPool* pool, int64_t now);
  void resume_later();
  bool under_pressure(const Conn& c) const;
  void tighten(Conn& c, Next& n) const;
  bool spoke_in_time(Conn& c);
  void flush_peer_lines();
  void refuse_at_accept(int fd);
  static void close_with_reset(int fd);
  void slot_free(Conn& c, bool reset = false);
  void arm(Conn& c, Next n);
  void drive(Conn& c, bool timed_out);
  Next handshake(Conn& c, bool timed_out);
  Next start_protocol(Conn& c);
  void reload();
  // The outcome ("" = taken, else why refused), or none yet: new image
  // files are being hashed and finish_reload reports when they are done.
  std::optional<std::string> try_reload();
  std::string finish_reload(Config nc, Registry reg, const Prehashed* pre);
  void report_reload(const std::string& why);
  // A reload (or a re-check) waiting for image files to be hashed.
  struct PendingReload {
    Config cfg;
    Registry reg;
    bool sighup;  // else a re-check after an image file changed
    std::unique_ptr<CatalogVerifier> verifier;
  };
  void begin_hashing(std::unique_ptr<PendingReload> p);
  void hash_slice();
  void reverify_catalog();
  void cut_revoked();
  void cut(Conn& c, const char* by);
  void begin_shutdown();
  void log_stats(const char* when);
  void sync_context();
  void fleet_configure(bool at_start);
  void wpa2_refresh();  // wpa2_refresh.cc
  void wpa2_poll();

  std::string config_path_;
  Config cfg_;
  std::shared_ptr<const Catalog> catalog_;
  Registry registry_;
  Context ctx_{};
  TransferLog transfers_;
  Fleet fleet_;
  Stats& stats_ = transfers_.stats();

  event_base* base_ = nullptr;
  // The slab: one mapping of max_connections slots, reserved at start-up.
  // A slot is constructed the first time a connection needs it (slots_used_
  // grows to the peak), so the pages of slots never used stay untouched:
  // no RAM until the fleet is that large. Freed slots go on a free list.
  Conn* slab_ = nullptr;
  size_t slab_bytes_ = 0;
  uint32_t slots_used_ = 0;  // slots constructed so far: slab_[0 .. slots_used_)
  uint32_t free_head_ = 0;  // index + 1; 0 = none free
  bool slab_full() const { return !free_head_ && slots_used_ == static_cast<uint32_t>(cfg_.max_connections); }
  uint32_t next_id_ = 1;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unique_ptr<uint8_t[]> bufs_;  // slot buffers: untouched pages cost no RAM
  size_t buf_size_ = 0;              // per slot
  bool paused_full_ = false;      // listeners off: slab full
  bool paused_backoff_ = false;   // listeners off: out of file descriptors
  bool draining_ = false;
  uint64_t reloads_ = 0;  // SIGHUPs handled, for the outcome otactl waits for
  std::unique_ptr<PendingReload> pending_;
  int64_t pending_started_ms_ = 0;
  event* hash_timer_ = nullptr;  // the next slice of hashing
  std::vector<event*> owned_events_;  // signals and timers, set up once
  std::vector<std::function<void(const Config&)>> reload_hooks_;
  int64_t started_ms_ = 0;
  event* backoff_timer_ = nullptr;
  event* grace_timer_ = nullptr;
  event* resume_timer_ = nullptr;  // when a connection becomes evictable
  int64_t next_evictable_ms_ = 0;
  event* tick_timer_ = nullptr;  // each second: the state snapshot when due
  RunningCommand wpa2_cmd_;      // the RADIUS server's reload, while it runs
  bool wpa2_reload_due_ = false;
  std::unique_ptr<Peers> peers_;  // per address: caps, failures, aggregated lines
  Neighbours neighbours_;  // its socket and tables made at the first link-layer check
  std::unique_ptr<HostapdCtrl> hostapd_;    // made at the first station check
};

}  // namespace otad
