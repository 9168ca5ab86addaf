#include "core/server.h"

#include <sys/mman.h>

#include <new>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "otad/fsutil.h"
#include "otad/log.h"

namespace otad {

static_assert(sizeof(struct event) <= kEventStorage, "kEventStorage too small for struct event");

namespace {

constexpr int kTimerBackoff = 1;
constexpr int kTimerGrace = 2;
constexpr int kTimerTick = 3;
constexpr int kTimerResume = 4;  // a paused listener's next chance to evict
constexpr int kTimerHash = 5;    // the next slice of a reload's hashing

struct event* ev_of(Conn& c) { return reinterpret_cast<struct event*>(c.ev); }
struct event* ev_of(Listener& l) { return reinterpret_cast<struct event*>(l.ev); }

timeval to_tv(int64_t ms) {
  if (ms < 0) ms = 0;
  return {static_cast<time_t>(ms / 1000), static_cast<suseconds_t>(ms % 1000 * 1000)};
}

void conn_cb(evutil_socket_t, short what, void* arg) {
  Conn* c = static_cast<Conn*>(arg);
  static_cast<Server*>(c->owner)->on_conn_event(*c, what);
}

void signal_cb(evutil_socket_t sig, short, void* arg) {
  static_cast<Server*>(arg)->on_signal(static_cast<int>(sig));
}

struct TimerArg {
  Server* s;
  int which;
};
void timer_cb(evutil_socket_t, short, void* arg) {
  auto* t = static_cast<TimerArg*>(arg);
  t->s->on_timer(t->which);
}

}  // namespace

Server::Server(std::string config_path, Config cfg, std::shared_ptr<const Catalog> cat,
               Registry reg)
    : config_path_(std::move(config_path)),
      cfg_(std::move(cfg)),
      catalog_(std::move(cat)),
      registry_(std::move(reg)) {
  // The slab is reserved once, here; nothing per connection is allocated
  // later. Anonymous pages: zero, and not resident until a slot is used.
  const uint32_t n = static_cast<uint32_t>(cfg_.max_connections);
  slab_bytes_ = std::max<size_t>(static_cast<size_t>(n) * sizeof(Conn), 1);
  void* mem = mmap(nullptr, slab_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) throw std::bad_alloc();
  slab_ = static_cast<Conn*>(mem);
  transfers_.init(n);
  ctx_.transfers = &transfers_;
  ctx_.ops = this;
  peers_ = std::make_unique<Peers>(n);
  transfers_.set_peers(peers_.get());
  ctx_.fleet = &fleet_;
  transfers_.set_fleet(&fleet_);
  started_ms_ = now_ms();
  fleet_configure(true);
  wpa2_refresh();
  sync_context();
}

// The fleet's settings from the config; at start also its snapshot. The
// rollouts are read at start and on every reload; a broken rollouts.ini
// keeps the rollouts in force.
void Server::fleet_configure(bool at_start) {
  FleetConfig fc;
  fc.catalog_dir = cfg_.catalog_dir;
  fc.loop_guard = static_cast<uint32_t>(cfg_.loop_guard);
  fc.loop_window_s = cfg_.loop_window;
  fc.state_file = cfg_.state_file;
  fc.flush_interval_s = cfg_.flush_interval;
  fc.max_devices = static_cast<size_t>(cfg_.max_devices);
  fc.event_log = cfg_.event_log;
  fc.event_log_size = static_cast<uint64_t>(cfg_.event_log_size);
  fc.event_log_keep = static_cast<uint32_t>(cfg_.event_log_keep);
  fleet_.configure(fc);
  if (at_start) {
    std::string line = fleet_.load(wall_s());
    if (!line.empty()) LOG_INFO("%s", line.c_str());
  }
  if (Status st = fleet_.load_rollouts(); !st) {
    LOG_ERROR("rollouts: %s; the rollouts in force stay (%zu)", st.error().c_str(), fleet_.rollouts().size());
  }
}


int64_t Server::uptime_s() const { return (now_ms() - started_ms_) / 1000; }

uint32_t Server::downloads_in_flight() const { return transfers_.downloads(); }

bool Server::mac_proven_by_link(const Conn& c, const Mac& claimed, char* why, size_t n) {
  const LinkProof p = neighbours_.check(c.peer_addr, claimed, now_ms(), why, n);
  return p == LinkProof::Match || p == LinkProof::Exempt;
}

StationCheck Server::station_check(const Mac& claimed, char* why, size_t n) {
  if (cfg_.hostapd_ctrl.empty()) {
    snprintf(why, n, "verify_mac = hostapd needs [wpa2] hostapd_ctrl (hostapd's control socket)");
    return StationCheck::No;
  }
  if (!hostapd_ || hostapd_->path() != cfg_.hostapd_ctrl) hostapd_ = std::make_unique<HostapdCtrl>(cfg_.hostapd_ctrl);
  std::string w;
  const StationCheck r = hostapd_->check(claimed, now_ms(), &w);
  snprintf(why, n, "%s", w.c_str());
  return r;
}

void Server::add_listener(ListenerSpec spec) {
  auto l = std::make_unique<Listener>();
  l->spec = std::move(spec);
  l->owner = this;
  listeners_.push_back(std::move(l));
  sync_context();
}

Server::~Server() {
  for (uint32_t i = 0; i < slots_used_; ++i) {
    Conn& c = slab_[i];
    if (c.state != ConnState::Free) slot_free(c, true);
  }
  for (uint32_t i = 0; i < slots_used_; ++i) slab_[i].~Conn();
  munmap(slab_, slab_bytes_);
  close_listeners();
  for (event* e : owned_events_) event_free(e);
  if (base_) event_base_free(base_);
}

void Server::sync_context() {
  // The exempt networks are parsed here, at start and reload, not per check;
  // the netlink socket still waits for the first check.
  neighbours_.set_exempt(cfg_.verify_mac_exempt);
  PeerRules pr;
  pr.max_failures = static_cast<uint32_t>(cfg_.max_auth_failures);
  pr.failure_window_ms = cfg_.auth_failure_window * 1000;
  pr.backoff_ms = cfg_.auth_backoff * 1000;
  peers_->set_rules(pr);
  ctx_.cfg = &cfg_;
  ctx_.catalog = catalog_;
  fleet_.set_catalog(catalog_);
  ctx_.registry = &registry_;
  ctx_.policy.default_platform = cfg_.default_platform;
  ctx_.policy.serve_unknown = cfg_.unknown_devices == "serve";
  ctx_.draining = draining_;
  ctx_.max_head = static_cast<size_t>(cfg_.max_head);
  transfers_.admission().configure(static_cast<uint32_t>(cfg_.max_downloads), static_cast<uint32_t>(cfg_.per_device),
                                   cfg_.admission_hold * 1000, static_cast<uint32_t>(cfg_.retry_after));
  transfers_.pacer().configure(static_cast<uint64_t>(cfg_.bandwidth));
  for (auto& l : listeners_) {
    l->auth = l->spec.auth_key ? auth_from_name(cfg_.*(l->spec.auth_key)) : Auth::None;
    const std::string mode = l->spec.verify_mac_key ? cfg_.*(l->spec.verify_mac_key) : "off";
    l->verify_link = mode != "off";
    l->verify_station = mode == "hostapd";
  }
}

void Server::close_listeners() {
  for (auto& l : listeners_) {
    if (l->fd < 0) continue;
    if (l->armed) event_del(ev_of(*l));
    l->armed = false;
    close(l->fd);  // new devices are refused, not queued
    l->fd = -1;
  }
}

Conn* Server::slot_alloc() {
  if (!free_head_) {
    if (slots_used_ == static_cast<uint32_t>(cfg_.max_connections)) return nullptr;
    return new (&slab_[slots_used_++]) Conn();  // first use of this slot
  }
  Conn& c = slab_[free_head_ - 1];
  free_head_ = c.next_free;
  c.next_free = 0;
  return &c;
}

void Server::slot_free(Conn& c, bool reset) {
  if (c.armed) event_del(ev_of(c));
  c.armed = 0;
  if (c.state == ConnState::Protocol) c.proto->end(c, ctx_);
  if (c.pool) {
    c.pool->detach(c);
    c.pool = nullptr;
    pool_resume_check();
  }
  if (c.fd >= 0 && reset) {
    close_with_reset(c.fd);
  } else if (c.fd >= 0) {
    close(c.fd);
  }
  c.fd = -1;
  peer_gone(c);
  transfers_.download_gone(c);
  c.body = Body{};
  c.state = ConnState::Free;
  c.next_free = free_head_;
  free_head_ = static_cast<uint32_t>(&c - slab_) + 1;
  stats_.active--;
}

void Server::arm(Conn& c, Next n) {
  tighten(c, n);
  const short mask = n.want == Want::Read ? EV_READ : n.want == Want::Write ? EV_WRITE : EV_TIMEOUT;
  struct event* ev = ev_of(c);
  // Persistent events, re-registered only when the direction changes: the
  // common case (same direction, fresh timeout) is one event_add that only
  // moves the timer, with no epoll_ctl.
  if (c.armed != mask) {
    if (c.armed) event_del(ev);
    // A timer alone (pacing) watches no descriptor.
    event_assign(ev, base_, mask == EV_TIMEOUT ? -1 : c.fd, mask == EV_TIMEOUT ? 0 : mask | EV_PERSIST, conn_cb, &c);
    c.armed = mask;
  }
  timeval tv = to_tv(n.timeout_ms);
  event_add(ev, &tv);
}

// Re-arms a listener paused on its transport pool once a context is free
// and the handshakes in progress are under their budget.
void Server::pool_resume_check() {
  if (draining_) return;
  for (auto& l : listeners_) {
    if (!l->pool_busy || !l->spec.pool->accepting()) continue;
    l->pool_busy = l->pool_warned = false;
    if (!paused_full_ && !paused_backoff_ && l->fd >= 0 && !l->armed) {
      event_add(ev_of(*l), nullptr);
      l->armed = true;
    }
  }
}

Next Server::start_protocol(Conn& c) {
  c.state = ConnState::Protocol;
  c.proto->start(c, ctx_);
  return c.proto->drive(c, ctx_, false);
}

// The transport's handshake, finished before the protocol starts; a failed
// one is the connection's one record.
Next Server::handshake(Conn& c, bool timed_out) {
  if (timed_out || now_ms() >= c.deadline_ms) {
    char what[64];
    snprintf(what, sizeof what, "%s handshake not completed", c.io->name());
    transfers_.end(c, {.outcome = Outcome::BadRequest, .started_ms = c.started_ms, .what = what});
    return {Want::Reset, 0};
  }
  // Driven by the socket, not a timer: the peer sent or took something.
  c.progress_ms = now_ms();
  const Handshake h = c.io->handshake(c);
  c.hs_hello = h.hello_in;
  if (h.claimed[0]) memcpy(c.mac, h.claimed, sizeof c.mac);
  switch (h.st) {
    case Hs::WantRead:
    case Hs::WantWrite:
      return {h.st == Hs::WantRead ? Want::Read : Want::Write, c.deadline_ms - now_ms()};
    case Hs::Plaintext:
      handshake_over(c);
      // Plain text where a handshake belongs: the protocol reads it in clear
      // to answer in clear (never content), so the device's own log and ours
      // both say what is wrong. The pooled context is freed with the slot.
      c.io = &plain_transport();
      c.misdirected = true;
      return start_protocol(c);
    case Hs::Done:
      handshake_over(c);
      c.proven = h.proven;
      if (h.proven.proof != Proof::None) memcpy(c.mac, h.proven.mac, sizeof c.mac);
      return start_protocol(c);
    case Hs::Failed:
      break;
  }
  // One line per failed handshake: peer, claimed identity, reason.
  if (h.auth_failed) auth_failed(c);
  char what[320];
  snprintf(what, sizeof what, "%s handshake failed: %s", c.io->name(), h.why ? h.why : "?");
  transfers_.end(c, {.outcome = Outcome::BadRequest, .started_ms = c.started_ms, .what = what});
  return {Want::Reset, 0};
}

void Server::drive(Conn& c, bool timed_out) {
  Next n = c.state == ConnState::Handshake ? handshake(c, timed_out) : c.proto->drive(c, ctx_, timed_out);
  if (transfers_.take_image_fault()) reverify_catalog();
  if (c.pool) pool_resume_check();  // a handshake may have just completed
  if (n.want == Want::Close || n.want == Want::Reset) {
    slot_free(c, n.want == Want::Reset);
    accept_resume_check();
  } else {
    arm(c, n);
  }
  // A download ended while devices wait for one: the first in line tries now.
  if (transfers_.take_wake()) {
    if (Conn* w = transfers_.admission().first_waiting(); w && w != &c) event_active(ev_of(*w), EV_READ, 0);
  }
}

// A pacing timer's expiry is the wake-up it asked for, not a timeout.
void Server::on_conn_event(Conn& c, short what) {
  const bool timed_out = (what & EV_TIMEOUT) != 0 && c.armed != EV_TIMEOUT;
  drive(c, timed_out && !spoke_in_time(c));
}

void Server::listeners_enable(bool on) {
  for (auto& l : listeners_) {
    if (l->fd < 0 || l->armed == on) continue;
    if (on && l->pool_busy) continue;
    if (on) event_add(ev_of(*l), nullptr);
    else event_del(ev_of(*l));
    l->armed = on;
  }
}

void Server::accept_resume_check() {
  if (draining_) {
    if (stats_.active == 0) event_base_loopexit(base_, nullptr);
    return;
  }
  if (paused_full_ && !slab_full()) {
    paused_full_ = false;
    if (!paused_backoff_) listeners_enable(true);
  }
}

void Server::on_timer(int which) {
  if (which == kTimerHash) {
    hash_slice();
    return;
  }
  if (which == kTimerTick || which == kTimerResume) {
    if (which == kTimerTick) flush_peer_lines();
    // Paused on a full slab or pool with nothing to evict: look again (a
    // connection may have stopped making progress since).
    if (!draining_ && !paused_backoff_) {
      for (auto& l : listeners_) {
        if (!l->pool_busy) continue;
        l->pool_busy = false;
        if (!paused_full_ && l->fd >= 0 && !l->armed) {
          event_add(ev_of(*l), nullptr);
          l->armed = true;
        }
      }
      if (paused_full_) listeners_enable(true);
    }
    if (which == kTimerResume) return;
    if (Status st = fleet_.flush(wall_s(), false); !st) LOG_ERROR("state: %s; the previous snapshot stays", st.error().c_str());
    wpa2_poll();
    return;
  }
  if (which == kTimerBackoff) {
    paused_backoff_ = false;
    if (!paused_full_ && !draining_) listeners_enable(true);
  } else if (which == kTimerGrace) {
    LOG_WARN("shutdown: grace period over; cutting %u connection(s)", stats_.active);
    for (uint32_t i = 0; i < slots_used_; ++i) {
      Conn& c = slab_[i];
      if (c.state == ConnState::Free) continue;
      cut(c, "shutdown");
    }
    event_base_loopexit(base_, nullptr);
  }
}

void Server::begin_shutdown() {
  if (draining_) {
    LOG_WARN("second shutdown signal: exiting now");
    on_timer(kTimerGrace);
    return;
  }
  draining_ = true;
  ctx_.draining = true;
  close_listeners();
  // Idle keep-alive connections have nothing in flight: close them now.
  // (A connection in Linger still has image bytes on their way to the device:
  // it ends when the device closes, within the grace period.)
  for (uint32_t i = 0; i < slots_used_; ++i) {
    Conn& c = slab_[i];
    if (c.state == ConnState::Protocol && c.proto->idle(c)) slot_free(c);
  }
  LOG_INFO("shutdown: no longer accepting; %u connection(s) in flight, grace %lld s",
           stats_.active, static_cast<long long>(cfg_.shutdown_grace));
  if (stats_.active == 0) {
    event_base_loopexit(base_, nullptr);
    return;
  }
  timeval tv = to_tv(cfg_.shutdown_grace * 1000);
  event_add(grace_timer_, &tv);
}

void Server::log_stats(const char* when) {
  LOG_INFO("stats (%s): accepted=%llu served=%llu aborted=%llu refused=%llu bad=%llu busy=%llu "
           "over_cap=%llu evicted=%llu auth_failures=%llu "
           "bytes_sent=%llu active=%u peak_active=%u downloads=%u peak_downloads=%u images=%zu devices=%zu",
           when, (unsigned long long)stats_.accepted, (unsigned long long)stats_.served,
           (unsigned long long)stats_.aborted, (unsigned long long)stats_.refused,
           (unsigned long long)stats_.bad_requests, (unsigned long long)stats_.busy,
           (unsigned long long)stats_.over_cap, (unsigned long long)stats_.evicted,
           (unsigned long long)stats_.auth_failures,
           (unsigned long long)stats_.bytes_sent, stats_.active, stats_.peak_active, transfers_.downloads(),
           stats_.peak_downloads,
           catalog_->images().size(), registry_.size());
}



void Server::on_signal(int sig) {
  switch (sig) {
    case SIGTERM:
    case SIGINT:
      LOG_INFO("%s received", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      begin_shutdown();
      break;
    case SIGHUP:
      LOG_INFO("SIGHUP received: reloading");
      reload();
      break;
    case SIGUSR1:
      log_stats("SIGUSR1");
      break;
  }
}

int Server::run() {
  base_ = event_base_new();
  if (!base_) {
    LOG_ERROR("cannot create the event loop");
    return 1;
  }
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) {
    event* e = evsignal_new(base_, sig, signal_cb, this);
    event_add(e, nullptr);
    owned_events_.push_back(e);
  }
  static TimerArg backoff_arg, grace_arg, tick_arg, resume_arg, hash_arg;
  hash_arg = {this, kTimerHash};
  hash_timer_ = evtimer_new(base_, timer_cb, &hash_arg);
  owned_events_.push_back(hash_timer_);
  resume_arg = {this, kTimerResume};
  resume_timer_ = evtimer_new(base_, timer_cb, &resume_arg);
  owned_events_.push_back(resume_timer_);
  backoff_arg = {this, kTimerBackoff};
  grace_arg = {this, kTimerGrace};
  tick_arg = {this, kTimerTick};
  backoff_timer_ = evtimer_new(base_, timer_cb, &backoff_arg);
  grace_timer_ = evtimer_new(base_, timer_cb, &grace_arg);
  tick_timer_ = event_new(base_, -1, EV_PERSIST, timer_cb, &tick_arg);
  owned_events_.push_back(backoff_timer_);
  owned_events_.push_back(grace_timer_);
  owned_events_.push_back(tick_timer_);
  timeval one_s = to_tv(1000);
  event_add(tick_timer_, &one_s);

  // Slot buffers for the protocols that need one, sized for the largest.
  // new[] without initialisation: a slot's pages become resident only when a
  // connection in that slot first uses them.
  for (auto& l : listeners_) buf_size_ = std::max(buf_size_, l->spec.proto->buffer_size(ctx_));
  if (buf_size_) bufs_.reset(new uint8_t[static_cast<size_t>(cfg_.max_connections) * buf_size_]);
  for (auto& l : listeners_) {
    Status s = open_listener(*l);
    if (!s) {
      LOG_ERROR("%s", s.error().c_str());
      return 1;
    }
    if (!l->spec.pool && l->auth == Auth::Password) {
      LOG_WARN("%s: auth = password on a plain listener: passwords cross the network in clear",
               l->spec.name.c_str());
    }
  }
  // The pid file means "up": otactl sends SIGHUP to this pid, and an init
  // script may wait for the file. So it is written only once the signal
  // handlers are in and the ports bound, and removed only by the process that
  // wrote it (a second otad that fails to bind leaves the first one's alone).
  std::string pid_file;
  if (!cfg_.pid_file.empty()) {
    Status s = write_file_atomic(cfg_.pid_file, std::to_string(getpid()) + "\n");
    if (!s) {
      LOG_ERROR("pid_file: %s", s.error().c_str());
      return 2;
    }
    pid_file = cfg_.pid_file;
  }
  LOG_INFO("otad %s ready: %zu image(s), %zu device(s), slab of %lld slots x %zu bytes",
           OTAD_VERSION, catalog_->images().size(), registry_.size(),
           static_cast<long long>(cfg_.max_connections), sizeof(Conn));
  event_base_dispatch(base_);
  log_stats("exit");
  if (Status st = fleet_.flush(wall_s(), true); !st) LOG_ERROR("state: %s", st.error().c_str());
  if (!pid_file.empty()) unlink(pid_file.c_str());
  LOG_INFO("otad stopped");
  return 0;
}

}  // namespace otad
