// The reactor: one event_base, one thread. Owns the connection slab, the
// listeners, signals, the loaded state (config, catalog, devices) and its
// reload, and graceful shutdown.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/conn.h"
#include "tls/tls.h"
#include "otad/catalog.h"
#include "otad/config.h"
#include "otad/devices.h"

struct event_base;
struct event;

namespace otad {

struct Listener {
  alignas(16) unsigned char ev[kEventStorage];
  int fd = -1;
  bool armed = false;
  const char* name = "";
  Proto proto = Proto::Tcpboot;
  bool tls = false;
  Auth auth = Auth::None;
  void* owner = nullptr;
};

class Server {
 public:
  Server(std::string config_path, Config cfg, std::shared_ptr<const Catalog> cat, Registry reg);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Opens listeners and runs until shut down. Returns the exit status.
  int run();

  // Trampolines from libevent's C callbacks.
  void on_conn_event(Conn& c, short what);
  void on_accept(Listener& l);
  void on_signal(int sig);
  void on_timer(int which);

 private:
  Status open_listener(Listener& l, const std::string& addr, int port);
  void close_listeners();
  void listeners_enable(bool on);
  void accept_resume_check();
  Conn* slot_alloc();
  void slot_free(Conn& c, bool reset = false);
  void arm(Conn& c, Next n);
  void drive(Conn& c, bool timed_out);
  void reload();
  void reverify_catalog();
  void resume_tls_accept();
  void begin_shutdown();
  void log_stats(const char* when);
  void sync_context();

  std::string config_path_;
  Config cfg_;
  std::shared_ptr<const Catalog> catalog_;
  Registry registry_;
  Context ctx_{};
  Stats stats_;

  event_base* base_ = nullptr;
  std::unique_ptr<Conn[]> slab_;
  uint32_t free_head_ = 0;  // index + 1; 0 = none free
  uint32_t next_id_ = 1;
  Listener tcpboot_, http_, https_;
  std::unique_ptr<uint8_t[]> bufs_;  // HTTP slot buffers: untouched pages cost no RAM
  bool paused_full_ = false;      // listeners off: slab full
  bool paused_backoff_ = false;   // listeners off: out of file descriptors
  bool paused_tls_ = false;       // https off: every TLS context busy
  TlsServerPtr tls_;
  bool draining_ = false;
  bool image_trouble_ = false;
  std::vector<event*> owned_events_;  // signals and timers, set up once
  event* backoff_timer_ = nullptr;
  event* grace_timer_ = nullptr;
};

}  // namespace otad
