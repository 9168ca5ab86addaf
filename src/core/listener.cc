// Listening sockets and accept: the connection budget is enforced here.
// A full slab turns the listeners off until a slot frees (devices wait in
// the kernel backlog); running out of descriptors backs off for a second
// instead of spinning on a readable listener.
#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

#include "core/server.h"
#include "otad/log.h"

namespace otad {
namespace {

constexpr int kMaxAcceptsPerWake = 64;

void listener_cb(evutil_socket_t, short, void* arg) {
  Listener* l = static_cast<Listener*>(arg);
  static_cast<Server*>(l->owner)->on_accept(*l);
}

void format_peer(const sockaddr_storage& ss, char* out, size_t n) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
    snprintf(out, n, "%s:%d", host, port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    port = ntohs(a->sin6_port);
    snprintf(out, n, "[%s]:%d", host, port);
  } else {
    snprintf(out, n, "?");
  }
}

}  // namespace

// SO_LINGER {1, 0}: the close sends a reset and frees the socket at once,
// with no FIN_WAIT or TIME_WAIT held for a peer otad refuses or cuts.
void Server::close_with_reset(int fd) {
  struct linger lg = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
}

Status Server::open_listener(Listener& l) {
  const char* proto = l.spec.name.c_str();
  const std::string& addr = l.spec.addr;
  const int port = l.spec.port;
  sockaddr_storage ss{};
  socklen_t len;
  int family;
  if (inet_pton(AF_INET, addr.c_str(), &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *a;
    family = AF_INET;
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    inet_pton(AF_INET6, addr.c_str(), &a->sin6_addr);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *a;
    family = AF_INET6;
  }
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Err(std::string(proto) + ": socket: " + strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      listen(fd, static_cast<int>(cfg_.listen_backlog)) != 0) {
    std::string why = strerror(errno);
    close(fd);
    return Err(std::string(proto) + ": cannot listen on " + addr + " port " +
               std::to_string(port) + ": " + why);
  }
  l.fd = fd;
  event_assign(reinterpret_cast<struct event*>(l.ev), base_, fd, EV_READ | EV_PERSIST,
               listener_cb, &l);
  event_add(reinterpret_cast<struct event*>(l.ev), nullptr);
  l.armed = true;
  LOG_INFO("%s: listening on %s port %d", proto, addr.c_str(), port);
  return Ok();
}

void Server::on_accept(Listener& l) {
  const char* name = l.spec.name.c_str();
  for (int i = 0; i < kMaxAcceptsPerWake; ++i) {
    // Full: make room by evicting a connection that makes no progress
    // (fairness.cc); only with none to evict do devices wait in the backlog.
    if (slab_full() && !evict(nullptr)) {
      if (!paused_full_) {
        LOG_WARN("%s: all %lld connection slots busy; pausing accept until one frees (none can be evicted: each is making progress)", name,
                 static_cast<long long>(cfg_.max_connections));
      }
      paused_full_ = true;
      listeners_enable(false);
      return;
    }
    if (l.spec.pool && !l.spec.pool->accepting() && !(evict(l.spec.pool) && l.spec.pool->accepting())) {
      bool warn;
      const char* why = l.spec.pool->busy_reason(&warn);
      if (!l.pool_warned) OTAD_LOG(warn ? LogLevel::Warn : LogLevel::Debug, "%s: %s; pausing accept until one frees", name, why);
      l.pool_warned = true;
      l.pool_busy = true;
      event_del(reinterpret_cast<struct event*>(l.ev));
      l.armed = false;
      return;
    }
    sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = accept4(l.fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        LOG_WARN("%s: accept: %s; backing off for 1 s", name, strerror(errno));
        paused_backoff_ = true;
        listeners_enable(false);
        timeval tv{1, 0};
        event_add(backoff_timer_, &tv);
        return;
      }
      LOG_ERROR("%s: accept: %s", name, strerror(errno));
      return;
    }
    char peer[sizeof Conn::peer];
    format_peer(ss, peer, sizeof peer);
    PeerAddr pa{};
    memcpy(&pa, &ss, std::min(sizeof pa, static_cast<size_t>(len)));
    if (!admit_peer(l, fd, pa, peer)) continue;
    if (cfg_.send_buffer > 0) {
      const int sb = static_cast<int>(cfg_.send_buffer);
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);
    }
    Conn* c = slot_alloc();
    c->fd = fd;
    c->id = next_id_++;
    c->io = &plain_transport();
    c->pool = nullptr;
    c->io_ctx = nullptr;
    c->owner = this;
    c->armed = 0;
    c->proto = l.spec.proto;
    c->tag = name;
    c->devices = l.spec.devices;
    c->auth = l.auth;
    c->verify_link = l.verify_link;
    c->verify_station = l.verify_station;
    c->misdirected = false;
    c->mac[0] = '\0';
    c->proven = Identity{};
    c->body = Body{};
    c->buf = bufs_ ? bufs_.get() + static_cast<size_t>(c - slab_) * buf_size_ : nullptr;
    c->started_ms = now_ms();
    memcpy(c->peer, peer, sizeof c->peer);
    c->peer_addr = pa;
    conn_awaits(*c, true, c->started_ms);
    c->hs_counted = l.spec.pool != nullptr;  // admit_peer counted it
    c->hs_hello = false;
    stats_.accepted++;
    if (++stats_.active > stats_.peak_active) stats_.peak_active = stats_.active;
    if (l.spec.pool) {
      if (!(c->io = l.spec.pool->attach(*c))) {
        LOG_ERROR("%s: cannot set up a transport context (out of memory?); closing %s", name, c->peer);
        c->io = &plain_transport();
        slot_free(*c, true);
        continue;
      }
      c->pool = l.spec.pool;
      c->state = ConnState::Handshake;
      c->deadline_ms = c->started_ms + c->pool->handshake_timeout_ms();
      drive(*c, false);
      continue;
    }
    c->state = ConnState::Protocol;
    c->proto->start(*c, ctx_);
    drive(*c, false);
  }
}

}  // namespace otad
