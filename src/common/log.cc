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

void log_write(LogLevel level, const char* fmt, ...) {
  // One fixed line buffer: a single write() per line keeps lines whole when
  // stderr is shared with other writers.
  char line[1024];
  if (g_syslog) {
    // syslog stamps the time and the process; the line is the same words,
    // the level in front as on stderr.
    int n = snprintf(line, sizeof line, "%-5s ", kNames[static_cast<int>(level)]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
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
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
  va_end(ap);
  size_t len = static_cast<size_t>(n) + (m < 0 ? 0 : static_cast<size_t>(m));
  if (len > sizeof line - 2) len = sizeof line - 2;
  line[len++] = '\n';
  fwrite(line, 1, len, stderr);
}

}  // namespace otad
