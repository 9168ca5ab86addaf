#include "otad/ini_strict.h"

#include <ini.h>

#include <cstring>
#include <set>

#include "otad/fsutil.h"

namespace otad {
namespace {

struct Stream {
  std::string_view name;
  std::string_view text;
  size_t pos = 0;
  int line = 0;
  const IniCallbacks* cb;
  std::vector<std::string>* errors;
  std::set<std::string> seen;  // "section\0key" pairs already given
  std::string section;
  bool ok = true;

  void error(int at, const std::string& reason) {
    ok = false;
    errors->push_back(std::string(name) + ":" + std::to_string(at) + ": " + reason);
  }
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// ini_reader: hands inih exactly one line per call.
char* read_line(char* buf, int num, void* user) {
  auto* st = static_cast<Stream*>(user);
  if (st->pos >= st->text.size()) return nullptr;
  size_t end = st->text.find('\n', st->pos);
  size_t next = end == std::string_view::npos ? st->text.size() : end + 1;
  std::string_view line = st->text.substr(st->pos, (end == std::string_view::npos ? st->text.size() : end) - st->pos);
  st->pos = next;
  ++st->line;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > kIniMaxLine || line.find('\0') != std::string_view::npos) {
    st->error(st->line, line.size() > kIniMaxLine
                            ? "line is " + std::to_string(line.size()) + " characters long; the limit is " +
                                  std::to_string(kIniMaxLine)
                            : "line contains a NUL byte");
    line = ";";  // hand inih a comment instead of a half line
  }
  std::string_view t = trim(line);
  if (t.size() >= 2 && t.front() == '[' && t.back() == ']') {
    std::string sec(trim(t.substr(1, t.size() - 2)));
    if (sec.size() > kIniMaxSection) {
      st->error(st->line, "section name longer than " + std::to_string(kIniMaxSection) + " characters");
    } else if (st->cb->on_section) {
      std::string why = st->cb->on_section(sec, st->line);
      if (!why.empty()) st->error(st->line, "[" + sec + "]: " + why);
    }
  }
  size_t n = std::min(line.size(), static_cast<size_t>(num - 2));
  memcpy(buf, line.data(), n);
  buf[n] = '\n';
  buf[n + 1] = '\0';
  return buf;
}

int on_key(void* user, const char* section, const char* name, const char* value) {
  auto* st = static_cast<Stream*>(user);
  std::string key = std::string(section) + '\0' + name;
  std::string label = *section ? std::string(section) + "." + name : std::string(name);
  if (!st->seen.insert(key).second) {
    st->error(st->line, label + ": given more than once (or continued on an indented line)");
    return 1;
  }
  std::string why = st->cb->on_key ? st->cb->on_key(section, name, value, st->line) : "";
  if (!why.empty()) st->error(st->line, label + ": " + why);
  return 1;  // keep going: report every problem, not just the first
}

}  // namespace

bool ini_parse_text(std::string_view name, std::string_view text, const IniCallbacks& cb,
                    std::vector<std::string>* errors) {
  Stream st{name, text, 0, 0, &cb, errors, {}, {}, true};
  int rc = ini_parse_stream(read_line, &st, on_key, &st);
  // Our handler never fails, so a positive rc is a syntax error inih found
  // on its own (a line with neither '=' nor ':', an unclosed '[').
  if (rc > 0) st.error(rc, "syntax error: expected 'key = value' or '[section]'");
  else if (rc < 0) st.error(0, "the ini reader failed (" + std::to_string(rc) + ")");
  return st.ok;
}

bool ini_parse_path(const std::string& path, size_t max_bytes, const IniCallbacks& cb,
                    std::vector<std::string>* errors) {
  auto text = read_file(path, max_bytes);
  if (!text) {
    errors->push_back(path + ": " + text.error());
    return false;
  }
  return ini_parse_text(path, *text, cb, errors);
}

}  // namespace otad
