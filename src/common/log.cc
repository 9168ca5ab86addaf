#include <algorithm>
#include "otad/log.h"

#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <sys/time.h>
#include <syslog.h>

namespace otad {
namespace {
LogLevel g_level = LogLevel::Info;
bool g_syslog = false;
const char* const kNames[] = {"error", "warn", "info", "debug"};
const int kPriorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
}  // namespace

void log_to_syslog(bool on) {
  if (on && !g_syslog) openlog("otad", LOG_PID | LOG_NDELAY, LOG_DAEMON);
  if (!on && g_syslog) closelog();
  g_syslog = on;
}

void log_set_level(LogLevel level) { g_level = level; }
LogLevel log_level() { return g_level; }

bool log_level_from_name(std::string_view name, LogLevel* out) {
  for (int i = 0; i < 4; ++i) {
    if (name == kNames[i]) {
      *out = static_cast<LogLevel>(i);
      return true;
    }
  }
  return false;
}

namespace {
// Length of the valid UTF-8 sequence at p (2..4), or 0.
size_t utf8_len(const unsigned char* p, size_t n) {
  const unsigned char c = p[0];
  const size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (!len || len > n) return 0;
  for (size_t i = 1; i < len; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
  }
  return len;
}
}  // namespace

size_t log_escape(const char* in, size_t n, char* out, size_t cap) {
  static const char kHex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(in);
  size_t o = 0;
  for (size_t i = 0; i < n && p[i];) {
    const unsigned char c = p[i];
    const size_t u = c >= 0x80 ? utf8_len(p + i, n - i) : 0;
    if (u) {
      if (o + u >= cap) break;
      for (size_t k = 0; k < u; ++k) out[o++] = static_cast<char>(p[i + k]);
      i += u;
    } else if (c < 0x20 || c >= 0x7F) {
      if (o + 4 >= cap) break;
      out[o++] = '\\';
      out[o++] = 'x';
      out[o++] = kHex[c >> 4];
      out[o++] = kHex[c & 15];
      ++i;
    } else {
      if (o + 1 >= cap) break;
      out[o++] = static_cast<char>(c);
      ++i;
    }
  }
  if (cap) out[o] = '\0';
  return o;
}

void log_write(LogLevel level, const char* fmt, ...) {
  // One fixed line buffer: a single write() per line keeps lines whole when
  // stderr is shared with other writers.
  char line[1024];
  // Bytes from the network and from files reach lines through %s: every
  // line is escaped here, once, so none can forge a line or drive a terminal.
  char raw[1024];
  va_list ap;
  va_start(ap, fmt);
  int rn = vsnprintf(raw, sizeof raw, fmt, ap);
  va_end(ap);
  char msg[sizeof line - 64];  // room for the time and level in front
  log_escape(raw, rn < 0 ? 0 : std::min(static_cast<size_t>(rn), sizeof raw - 1), msg, sizeof msg);
  if (g_syslog) {
    // syslog stamps the time and the process; the line is the same words,
    // the level in front as on stderr.
    snprintf(line, sizeof line, "%-5s %s", kNames[static_cast<int>(level)], msg);
    syslog(kPriorities[static_cast<int>(level)], "%s", line);
    return;
  }
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %-5s ",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                   tm.tm_sec, static_cast<int>(tv.tv_usec / 1000),
                   kNames[static_cast<int>(level)]);
  int m = snprintf(line + n, sizeof line - n - 1, "%s", msg);
  size_t len = static_cast<size_t>(n) + (m < 0 ? 0 : static_cast<size_t>(m));
  if (len > sizeof line - 2) len = sizeof line - 2;
  line[len++] = '\n';
  fwrite(line, 1, len, stderr);
}

}  // namespace otad
