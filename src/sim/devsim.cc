// otad-sim: a fleet of simulated devices. Runs N concurrent downloads over
// one epoll loop, the way a fleet hits a gateway after a power cut, and
// verifies every image (size and SHA-1). Used by the integration tests and
// the benchmark; later protocols add modes here.
//
//   otad-sim tcpboot --port P --devices N [--host H] [--mac-base HEX12]
//            [--expect-sha1 HEX] [--expect-size N] [--rate BYTES_PER_S]
//            [--timeout S]
//   otad-sim http --port P --path /file --devices N [...same...]
//
// Prints one summary line (key=value) and a line per failed device; exits 0
// only when every device got a verified image.
#include <arpa/inet.h>
#include <fcntl.h>
#include <mbedtls/md.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "otad/strict_num.h"

namespace {

enum class Mode { Tcpboot, Http };
enum class St { Connecting, SendReq, ReadHead, ReadBody, Done, Failed };

struct Opts {
  Mode mode = Mode::Tcpboot;
  std::string host = "127.0.0.1", path = "/", expect_sha1;
  int port = 8123;
  int devices = 1;
  uint64_t mac_base = 0x30aea4000000ULL;
  int64_t expect_size = -1;
  int64_t rate = 0;  // bytes/s per device, 0 = unlimited
  int timeout_s = 120;
};

struct Dev {
  int fd = -1;
  St st = St::Connecting;
  std::string req;
  size_t req_off = 0;
  char head[4096];
  size_t head_len = 0;
  uint64_t body_len = 0, got = 0;
  uint8_t sha1_hdr[20];
  mbedtls_md_context_t md;
  int64_t t0 = 0, t1 = 0;
  int64_t budget = 0;
  bool paused = false;
  std::string why;
};

int64_t now_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

void fail(Dev& d, const std::string& why) {
  d.st = St::Failed;
  d.why = why;
  d.t1 = now_us();
  if (d.fd >= 0) close(d.fd);
  d.fd = -1;
}

void finish_body(Dev& d, const Opts& o) {
  uint8_t h[20];
  mbedtls_md_finish(&d.md, h);
  std::string hex = otad::to_hex(h, 20);
  if (o.mode == Mode::Tcpboot && memcmp(h, d.sha1_hdr, 20) != 0) {
    return fail(d, "SHA-1 of body " + hex + " differs from header " + otad::to_hex(d.sha1_hdr, 20));
  }
  if (!o.expect_sha1.empty() && hex != o.expect_sha1) return fail(d, "SHA-1 " + hex + " unexpected");
  if (o.expect_size >= 0 && static_cast<int64_t>(d.body_len) != o.expect_size) {
    return fail(d, "size " + std::to_string(d.body_len) + " unexpected");
  }
  d.st = St::Done;
  d.t1 = now_us();
  close(d.fd);
  d.fd = -1;
}

// Parses an HTTP response head in d.head; false on a bad one (d failed).
bool parse_http_head(Dev& d, size_t head_end) {
  std::string h(d.head, head_end);
  if (h.compare(0, 9, "HTTP/1.1 ") != 0 && h.compare(0, 9, "HTTP/1.0 ") != 0) {
    fail(d, "not an HTTP response");
    return false;
  }
  if (h.compare(9, 3, "200") != 0) {
    fail(d, "status " + h.substr(9, 3));
    return false;
  }
  std::string lower = h;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  size_t cl = lower.find("\r\ncontent-length:");
  if (cl == std::string::npos) {
    fail(d, "no Content-Length");
    return false;
  }
  d.body_len = strtoull(h.c_str() + cl + 17, nullptr, 10);
  return true;
}

// Reads what is there; returns false when the device should stop reading for now.
void on_readable(Dev& d, const Opts& o) {
  static uint8_t buf[256 * 1024];
  for (;;) {
    size_t want = sizeof buf;
    if (o.rate > 0) {
      if (d.budget <= 0) {
        d.paused = true;
        return;
      }
      want = std::min<size_t>(want, static_cast<size_t>(d.budget));
    }
    if (d.st == St::ReadHead) {
      want = std::min(want, sizeof d.head - d.head_len);
      if (o.mode == Mode::Tcpboot) want = std::min<size_t>(want, 24 - d.head_len);
    } else if (d.st == St::ReadBody) {
      // Never read past the image: anything more would be a protocol error.
      want = static_cast<size_t>(std::min<uint64_t>(want, d.body_len - d.got + 1));
    }
    ssize_t r = recv(d.fd, d.st == St::ReadHead ? reinterpret_cast<uint8_t*>(d.head) + d.head_len : buf,
                     want, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (r < 0) return fail(d, std::string("recv: ") + strerror(errno));
    if (r == 0) {
      if (d.st == St::ReadBody && d.got == d.body_len) return finish_body(d, o);
      return fail(d, d.st == St::ReadHead ? "closed before a reply (" + std::to_string(d.head_len) + " bytes)"
                                          : "closed after " + std::to_string(d.got) + " of " +
                                                std::to_string(d.body_len) + " bytes");
    }
    d.budget -= r;
    if (d.st == St::ReadHead) {
      d.head_len += static_cast<size_t>(r);
      size_t extra_off = 0, extra = 0;
      if (o.mode == Mode::Tcpboot) {
        if (d.head_len < 24) continue;
        uint32_t n;
        memcpy(&n, d.head, 4);
        d.body_len = le32toh(n);
        memcpy(d.sha1_hdr, d.head + 4, 20);
      } else {
        std::string_view hv(d.head, d.head_len);
        size_t e = hv.find("\r\n\r\n");
        if (e == std::string_view::npos) {
          if (d.head_len == sizeof d.head) return fail(d, "response head too large");
          continue;
        }
        if (!parse_http_head(d, e)) return;
        extra_off = e + 4;
        extra = d.head_len - extra_off;
      }
      d.st = St::ReadBody;
      if (extra) {
        mbedtls_md_update(&d.md, reinterpret_cast<uint8_t*>(d.head) + extra_off, extra);
        d.got += extra;
      }
    } else {
      if (d.got + static_cast<uint64_t>(r) > d.body_len) return fail(d, "more bytes than announced");
      mbedtls_md_update(&d.md, buf, static_cast<size_t>(r));
      d.got += static_cast<uint64_t>(r);
    }
    if (d.st == St::ReadBody && d.got == d.body_len && o.mode == Mode::Http) return finish_body(d, o);
  }
}

void usage() {
  fprintf(stderr, "usage: otad-sim tcpboot|http --port P [--devices N] [--host H] [--path /f]\n"
                  "       [--mac-base HEX12] [--expect-sha1 HEX] [--expect-size N] [--rate B/s]\n"
                  "       [--timeout S]\n");
  exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage();
  Opts o;
  std::string m = argv[1];
  if (m == "http") o.mode = Mode::Http;
  else if (m != "tcpboot") usage();
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage();
    std::string v = argv[++i];
    if (a == "--host") o.host = v;
    else if (a == "--port") o.port = atoi(v.c_str());
    else if (a == "--path") o.path = v;
    else if (a == "--devices") o.devices = atoi(v.c_str());
    else if (a == "--mac-base") o.mac_base = strtoull(v.c_str(), nullptr, 16);
    else if (a == "--expect-sha1") o.expect_sha1 = v;
    else if (a == "--expect-size") o.expect_size = atoll(v.c_str());
    else if (a == "--rate") o.rate = atoll(v.c_str());
    else if (a == "--timeout") o.timeout_s = atoi(v.c_str());
    else usage();
  }
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(o.port));
  if (inet_pton(AF_INET, o.host.c_str(), &sa.sin_addr) != 1) usage();

  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Dev> devs(static_cast<size_t>(o.devices));
  const int64_t start = now_us();
  for (size_t i = 0; i < devs.size(); ++i) {
    Dev& d = devs[i];
    mbedtls_md_init(&d.md);
    mbedtls_md_setup(&d.md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA1), 0);
    mbedtls_md_starts(&d.md);
    if (o.mode == Mode::Tcpboot) {
      char mac[13];
      snprintf(mac, sizeof mac, "%012llx", static_cast<unsigned long long>(o.mac_base + i));
      d.req = mac;
    } else {
      d.req = "GET " + o.path + " HTTP/1.1\r\nHost: " + o.host + "\r\nConnection: close\r\n\r\n";
    }
    d.t0 = now_us();
    d.budget = o.rate > 0 ? o.rate / 100 : 0;
    d.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (d.fd < 0) {
      fail(d, std::string("socket: ") + strerror(errno));
      continue;
    }
    if (connect(d.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS) {
      fail(d, std::string("connect: ") + strerror(errno));
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, d.fd, &ev);
  }
  size_t open_count = 0;
  for (const Dev& d : devs) open_count += d.fd >= 0;
  const int64_t deadline = start + static_cast<int64_t>(o.timeout_s) * 1000000;
  int64_t next_tick = now_us() + 10000;
  std::vector<epoll_event> evs(1024);
  while (open_count > 0 && now_us() < deadline) {
    int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), o.rate > 0 ? 10 : 100);
    for (int k = 0; k < n; ++k) {
      Dev& d = devs[evs[k].data.u64];
      if (d.fd < 0) continue;
      if (d.st == St::Connecting || d.st == St::SendReq) {
        if (d.st == St::Connecting) {
          int err = 0;
          socklen_t l = sizeof err;
          getsockopt(d.fd, SOL_SOCKET, SO_ERROR, &err, &l);
          if (err) {
            fail(d, std::string("connect: ") + strerror(err));
            continue;
          }
          d.st = St::SendReq;
        }
        ssize_t w = send(d.fd, d.req.data() + d.req_off, d.req.size() - d.req_off, MSG_NOSIGNAL);
        if (w > 0) d.req_off += static_cast<size_t>(w);
        else if (w < 0 && errno != EAGAIN) {
          fail(d, std::string("send: ") + strerror(errno));
          continue;
        }
        if (d.req_off == d.req.size()) {
          d.st = St::ReadHead;
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.u64 = evs[k].data.u64;
          epoll_ctl(ep, EPOLL_CTL_MOD, d.fd, &ev);
        }
        continue;
      }
      on_readable(d, o);
      if (d.paused && d.fd >= 0) {
        epoll_event ev{};
        ev.events = 0;
        ev.data.u64 = evs[k].data.u64;
        epoll_ctl(ep, EPOLL_CTL_MOD, d.fd, &ev);
      }
    }
    if (o.rate > 0 && now_us() >= next_tick) {
      next_tick += 10000;
      for (size_t i = 0; i < devs.size(); ++i) {
        Dev& d = devs[i];
        d.budget = o.rate / 100;
        if (d.paused && d.fd >= 0) {
          d.paused = false;
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.u64 = i;
          epoll_ctl(ep, EPOLL_CTL_MOD, d.fd, &ev);
        }
      }
    }
    open_count = 0;
    for (const Dev& d : devs) open_count += d.fd >= 0;
  }
  for (Dev& d : devs) {
    if (d.fd >= 0) fail(d, "timed out after " + std::to_string(d.got) + " bytes");
  }
  const double wall = (now_us() - start) / 1e6;
  std::vector<double> times;
  uint64_t bytes = 0;
  int ok = 0;
  for (const Dev& d : devs) {
    if (d.st == St::Done) {
      ++ok;
      times.push_back((d.t1 - d.t0) / 1000.0);
      bytes += d.body_len;
    }
  }
  std::sort(times.begin(), times.end());
  auto pct = [&](double p) {
    return times.empty() ? 0.0 : times[std::min(times.size() - 1, static_cast<size_t>(p * times.size()))];
  };
  for (size_t i = 0; i < devs.size(); ++i) {
    if (devs[i].st != St::Done) fprintf(stderr, "device %zu (%s): %s\n", i, devs[i].req.substr(0, 12).c_str(), devs[i].why.c_str());
  }
  printf("devices=%d ok=%d failed=%d bytes=%llu wall_s=%.3f throughput_MBps=%.1f p50_ms=%.1f "
         "p99_ms=%.1f max_ms=%.1f\n",
         o.devices, ok, o.devices - ok, static_cast<unsigned long long>(bytes), wall,
         bytes / 1e6 / (wall > 0 ? wall : 1), pct(0.50), pct(0.99), times.empty() ? 0.0 : times.back());
  return ok == o.devices ? 0 : 1;
}
