#include "otad/config.h"

#include <arpa/inet.h>

#include <cstring>

#include "otad/fsutil.h"
#include "otad/ini_strict.h"
#include "otad/strict_num.h"

namespace otad {
namespace {

using C = Config;

// The table. conf/otad.ini documents the same keys; a unit test checks that
// the two agree, so neither can drift.
const std::vector<KeySpec> kTable = {
    {"server", "max_connections", KeyType::Int, 1, 65536, nullptr, "1024", false, "connections",
     "Size of the connection slab, fixed at start-up. When every slot is busy the listeners stop "
     "accepting; new devices wait in the kernel backlog until a slot frees.",
     &C::max_connections},
    {"server", "listen_backlog", KeyType::Int, 1, 65535, nullptr, "1024", false, "connections",
     "Kernel accept queue per listener (capped by net.core.somaxconn).", &C::listen_backlog},
    {"server", "shutdown_grace", KeyType::Int, 0, 3600, nullptr, "30", true, "seconds",
     "After SIGTERM, in-flight transfers get this long to finish before they are cut.",
     &C::shutdown_grace},
    {"server", "log_level", KeyType::Choice, 0, 0, "error|warn|info|debug", "info", true, nullptr,
     "Lowest level written to stderr.", &C::log_level},
    {"server", "pid_file", KeyType::String, 0, 190, nullptr, "", false, nullptr,
     "Where otad writes its pid (empty: nowhere). otactl reload signals this pid.", &C::pid_file},
    {"catalog", "dir", KeyType::String, 1, 190, nullptr, "/var/lib/otad/catalog", true, nullptr,
     "Image store: one file per image, named by its SHA-256, plus manifest.ini. Relative paths are "
     "relative to the working directory.",
     &C::catalog_dir},
    {"catalog", "default_platform", KeyType::String, 0, 64, nullptr, "", true, nullptr,
     "Platform served to devices the registry does not name a platform for (empty: none).",
     &C::default_platform},
    {"catalog", "unknown_devices", KeyType::Choice, 0, 0, "serve|refuse", "serve", true, nullptr,
     "serve: devices missing from the devices file get the default platform's image. refuse: they "
     "get nothing.",
     &C::unknown_devices},
    {"catalog", "max_image_size", KeyType::Int, 1024, 67108864, nullptr, "16777216", true, "bytes",
     "Largest image the catalog accepts.", &C::max_image_size},
    {"devices", "file", KeyType::String, 0, 190, nullptr, "/etc/otad/devices.ini", true, nullptr,
     "Device registry: one [MAC] section per device (see devices.ini.example). A missing file "
     "means no registered devices.",
     &C::devices_file},
    {"tcpboot", "enabled", KeyType::Bool, 0, 0, nullptr, "yes", false, nullptr,
     "Serve the ESP32 network bootloader protocol (MAC in; size, SHA-1, image out).",
     &C::tcpboot_enabled},
    {"tcpboot", "listen", KeyType::Addr, 0, 0, nullptr, "0.0.0.0", false, nullptr,
     "Address to listen on (IPv4 or IPv6 literal).", &C::tcpboot_listen},
    {"tcpboot", "port", KeyType::Int, 1, 65535, nullptr, "8123", false, nullptr,
     "TCP port the bootloaders connect to.", &C::tcpboot_port},
    {"tcpboot", "read_timeout", KeyType::Int, 1, 3600, nullptr, "10", true, "seconds",
     "A device must send its whole 12-character MAC within this time of connecting.",
     &C::tcpboot_read_timeout},
    {"tcpboot", "send_timeout", KeyType::Int, 1, 3600, nullptr, "60", true, "seconds",
     "A download that makes no progress for this long is aborted.", &C::tcpboot_send_timeout},
};

std::string set_value(Config& c, const KeySpec& k, std::string_view v) {
  switch (k.type) {
    case KeyType::Int: {
      auto n = parse_int_strict(v, k.min, k.max);
      if (!n) return n.error();
      c.*std::get<int64_t C::*>(k.field) = *n;
      return "";
    }
    case KeyType::Bool: {
      auto b = parse_bool_strict(v);
      if (!b) return b.error();
      c.*std::get<bool C::*>(k.field) = *b;
      return "";
    }
    case KeyType::Choice: {
      std::string_view choices = k.choices;
      size_t i = 0;
      while (i <= choices.size()) {
        size_t j = choices.find('|', i);
        if (j == std::string_view::npos) j = choices.size();
        if (choices.substr(i, j - i) == v) {
          c.*std::get<std::string C::*>(k.field) = std::string(v);
          return "";
        }
        i = j + 1;
      }
      return "'" + std::string(v) + "' is not one of " + k.choices;
    }
    case KeyType::Addr: {
      unsigned char buf[16];
      std::string s(v);
      if (inet_pton(AF_INET, s.c_str(), buf) != 1 && inet_pton(AF_INET6, s.c_str(), buf) != 1) {
        return "'" + s + "' is not an IPv4 or IPv6 address";
      }
      c.*std::get<std::string C::*>(k.field) = s;
      return "";
    }
    case KeyType::String:
      if (static_cast<int64_t>(v.size()) < k.min) return "must not be empty";
      if (static_cast<int64_t>(v.size()) > k.max) {
        return "longer than " + std::to_string(k.max) + " characters";
      }
      c.*std::get<std::string C::*>(k.field) = std::string(v);
      return "";
  }
  return "unhandled type";
}

const KeySpec* find_key(std::string_view section, std::string_view name) {
  for (const KeySpec& k : kTable) {
    if (section == k.section && name == k.name) return &k;
  }
  return nullptr;
}

bool known_section(std::string_view s) {
  for (const KeySpec& k : kTable) {
    if (s == k.section) return true;
  }
  return false;
}

// Rules that span keys.
void check(const Config& c, const std::string& name, std::vector<std::string>* errors) {
  if (!c.tcpboot_enabled) {
    errors->push_back(name + ": no protocol is enabled ([tcpboot] enabled = no)");
  }
}

}  // namespace

const std::vector<KeySpec>& config_table() { return kTable; }

Config config_defaults() {
  Config c{};
  for (const KeySpec& k : kTable) {
    std::string why = set_value(c, k, k.def);
    (void)why;  // the table's defaults are checked by a unit test
  }
  return c;
}

Result<Config> config_load_text(const std::string& name, const std::string& text,
                                std::vector<std::string>* errors) {
  Config c = config_defaults();
  IniCallbacks cb;
  cb.on_section = [](std::string_view s, int) -> std::string {
    return known_section(s) ? "" : "unknown section";
  };
  cb.on_key = [&c](std::string_view s, std::string_view k, std::string_view v, int) -> std::string {
    if (s.empty()) return "key outside any [section]";
    if (!known_section(s)) return "in an unknown section";
    const KeySpec* spec = find_key(s, k);
    if (!spec) return "unknown key";
    return set_value(c, *spec, v);
  };
  size_t before = errors->size();
  ini_parse_text(name, text, cb, errors);
  if (errors->size() == before) check(c, name, errors);
  if (errors->size() != before) return Err(errors->at(before));
  return c;
}

Result<Config> config_load(const std::string& path, std::vector<std::string>* errors) {
  auto text = read_file(path, 1 << 20);
  if (!text) {
    errors->push_back(path + ": " + text.error());
    return Err(errors->back());
  }
  return config_load_text(path, *text, errors);
}

std::string config_value(const Config& c, const KeySpec& k) {
  return std::visit(
      [&c](auto f) -> std::string {
        using T = std::decay_t<decltype(c.*f)>;
        if constexpr (std::is_same_v<T, bool>) return c.*f ? "yes" : "no";
        else if constexpr (std::is_same_v<T, int64_t>) return std::to_string(c.*f);
        else return c.*f;
      },
      k.field);
}

std::string config_dump(const Config& c) {
  std::string out;
  const char* section = "";
  for (const KeySpec& k : kTable) {
    if (strcmp(section, k.section) != 0) {
      section = k.section;
      out += (out.empty() ? "[" : "\n[") + std::string(section) + "]\n";
    }
    out += std::string(k.name) + " = " + config_value(c, k) + "\n";
  }
  return out;
}

}  // namespace otad
