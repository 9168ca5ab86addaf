// Level-gated logging to stderr, or to syslog (facility daemon, ident otad:
// [server] log = syslog, for routers whose logd collects it). Nothing is
// formatted when a level is off.
// Connection code prefixes every line with "conn#ID PEER mac=..." itself.
#pragma once
#include <cstddef>
#include <string_view>

namespace otad {

enum class LogLevel { Error = 0, Warn = 1, Info = 2, Debug = 3 };

void log_set_level(LogLevel level);
void log_to_syslog(bool on);
LogLevel log_level();
bool log_level_from_name(std::string_view name, LogLevel* out);
void log_write(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
// in[0..n) as it goes into a line: control bytes, DEL and bytes that are not
// valid UTF-8 become \xHH (so a newline cannot forge a line, nor an escape
// sequence drive a terminal); stops at NUL or when out (cap bytes, always
// terminated) is full. Returns the bytes written.
size_t log_escape(const char* in, size_t n, char* out, size_t cap);

}  // namespace otad

#define OTAD_LOG(level, ...)                                      \
  do {                                                            \
    if (static_cast<int>(level) <= static_cast<int>(::otad::log_level())) \
      ::otad::log_write(level, __VA_ARGS__);                      \
  } while (0)
#define LOG_ERROR(...) OTAD_LOG(::otad::LogLevel::Error, __VA_ARGS__)
#define LOG_WARN(...) OTAD_LOG(::otad::LogLevel::Warn, __VA_ARGS__)
#define LOG_INFO(...) OTAD_LOG(::otad::LogLevel::Info, __VA_ARGS__)
#define LOG_DEBUG(...) OTAD_LOG(::otad::LogLevel::Debug, __VA_ARGS__)
