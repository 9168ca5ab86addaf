// otad.ini: one table of keys (type, range or choices, default, reloadable,
// help) drives parsing, validation, --check-config output and the shipped
// documentation. Unknown sections and keys are errors with file:line.
#pragma once
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "otad/result.h"

namespace otad {

struct Config {
  // [server]
  int64_t max_connections;  // connection slab size, fixed at start-up
  int64_t listen_backlog;
  int64_t shutdown_grace;   // seconds in-flight transfers get after SIGTERM
  int64_t send_buffer;      // SO_SNDBUF of device connections; 0 = the kernel's autotuning
  int64_t min_send_rate;    // bytes/s over send_rate_window; 0 = no floor
  int64_t send_rate_window;
  int64_t max_per_address;
  int64_t max_auth_failures;
  int64_t auth_failure_window;
  int64_t auth_backoff;
  std::string log_level;
  std::string log_target;  // stderr | syslog
  std::string pid_file;
  // [catalog]
  std::string catalog_dir;
  std::string default_platform;
  std::string unknown_devices;  // serve | refuse
  int64_t max_image_size;
  // [devices]
  std::string devices_file;
  // [tcpboot]
  bool tcpboot_enabled;
  std::string tcpboot_listen;
  int64_t tcpboot_port;
  int64_t tcpboot_read_timeout;  // seconds to receive the 12-byte MAC
  int64_t tcpboot_send_timeout;  // seconds without send progress before abort
  int64_t tcpboot_hold_refused;  // seconds a refused device is held open before the close
  int64_t tcpboot_hold_max;      // refused devices held at once
  std::string tcpboot_verify_mac;  // off | neighbour | hostapd
  std::string verify_mac_exempt;   // networks believed on their claim
  // [http]: the plain listener, and request handling shared with [https]
  bool http_enabled;
  std::string http_listen;
  int64_t http_port;
  std::string http_auth;  // none | password
  std::string http_verify_mac;  // off | neighbour
  std::string update_path;
  int64_t max_head;
  int64_t http_read_timeout;
  int64_t http_idle_timeout;
  int64_t http_send_timeout;
  int64_t no_update_status;  // 304 or 204
  int64_t max_requests;      // per keep-alive connection
  // [https]
  bool https_enabled;
  std::string https_listen;
  int64_t https_port;
  std::string https_auth;  // none | psk | cert | password | any
  std::string cert_file, key_file, client_ca_file;
  std::string ciphersuites;
  std::string cipher_order;  // auto | listed
  std::string groups;  // ECDHE groups offered, space-separated, preferred first
  std::string tls_versions;  // "1.2", "1.3" or both
  int64_t max_tls_connections;
  int64_t max_handshakes;
  int64_t max_handshakes_per_address;
  int64_t handshake_timeout;
  bool session_tickets;
  int64_t ticket_lifetime;
  int64_t session_cache;  // sessions kept for resumption by session ID; 0 = off
  int64_t max_fragment_length;
  // [admission]: downloads in flight, pacing
  int64_t max_downloads;   // image bodies in flight at once; 0 = no cap
  int64_t retry_after;     // seconds, jittered by ±50%
  int64_t per_device;      // bodies in flight per device; 0 = no limit
  int64_t admission_hold;  // seconds a Range download keeps its admission between requests
  int64_t bandwidth;       // bytes per second for all image bodies; 0 = off
  // [admin]: the catalog's API (uploads, platforms, status), bearer tokens
  bool admin_enabled;
  std::string admin_listen;
  int64_t admin_port;
  bool admin_tls;  // same certificate and key as [https]
  std::string admin_token_file;
  int64_t admin_max_uploads;
  // [fleet]: rules over what devices did
  int64_t loop_guard;   // whole downloads never installed before "no update"; 0 = off
  int64_t loop_window;  // seconds
  // [state]: device state and the event log
  std::string state_file;
  int64_t flush_interval;
  int64_t max_devices;
  std::string event_log;
  int64_t event_log_size;
  int64_t event_log_keep;
  // [wpa2]: the RADIUS server's users, kept in step with the registry
  std::string eap_user_file;
  std::string radius_users_file;
  std::string nt_hash_file;
  std::string crl_file;
  std::string hostapd_ctrl;
  std::string wpa2_reload_command;
  int64_t wpa2_reload_timeout;
};

// Words: one or more space-separated words, each one of the choices, none twice.
enum class KeyType { Int, Bool, String, Choice, Addr, Words };

struct KeySpec {
  const char* section;
  const char* name;
  KeyType type;
  int64_t min, max;     // Int: range; String: max length (min = 1 when required)
  const char* choices;  // Choice, Words: "a|b|c"
  const char* def;      // default, as it would be written in the file
  bool reloadable;      // false: a change needs a restart
  const char* unit;
  const char* help;
  std::variant<int64_t Config::*, bool Config::*, std::string Config::*> field;
  // Words, String: a further check of the whole value (what this build supports, a list's syntax);
  // returns a reason, or "" to accept.
  std::string (*check)(std::string_view value) = nullptr;
};

const std::vector<KeySpec>& config_table();

// Every key at its default.
Config config_defaults();

// Parses and validates a file. On failure, errors holds "file:line: key: reason".
Result<Config> config_load(const std::string& path, std::vector<std::string>* errors);
Result<Config> config_load_text(const std::string& name, const std::string& text,
                                std::vector<std::string>* errors);

// The effective configuration, as an ini file (used by --check-config).
std::string config_dump(const Config& c);

// Value of one key as text (for diffs on reload).
std::string config_value(const Config& c, const KeySpec& k);

}  // namespace otad
