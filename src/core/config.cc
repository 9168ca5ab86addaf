#include "otad/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "otad/fsutil.h"
#include "otad/ini_strict.h"
#include "otad/neighbour.h"
#include "otad/strict_num.h"

namespace otad {
namespace {

using C = Config;

#if OTAD_TLS13
constexpr const char* kTlsVersionsDefault = "1.2 1.3";
#else
constexpr const char* kTlsVersionsDefault = "1.2";
#endif

// A build-dependent choice, refused where it is read (file:line).
std::string tls_versions_check(std::string_view v) {
  if (!OTAD_TLS13 && v.find("1.3") != std::string_view::npos) {
    return "'1.3': this otad's mbedTLS has no TLS 1.3 (it needs mbedTLS 3.x built with it)";
  }
  return "";
}

std::string prefixes_check(std::string_view v) {
  AddrEntry p[16];
  size_t n;
  return parse_prefixes(v, p, 16, &n);
}

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
    {"server", "send_buffer", KeyType::Int, 0, 16777216, nullptr, "65536", false, "bytes",
     "Kernel send buffer of each connection (SO_SNDBUF; Linux doubles it for its bookkeeping). It bounds "
     "the kernel's memory for queued image bytes to about max_connections x 2 x send_buffer, where the "
     "kernel's autotuning (0) may queue megabytes per slow device. 64 KiB keeps a LAN download at full "
     "speed.",
     &C::send_buffer},
    {"server", "min_send_rate", KeyType::Int, 0, 1073741824, nullptr, "1024", true, "bytes/s",
     "A download whose device takes less than this per second, averaged over send_rate_window, is cut "
     "(0: never), so a reader that barely reads cannot hold a slot and its kernel buffer for hours.",
     &C::min_send_rate},
    {"server", "send_rate_window", KeyType::Int, 1, 3600, nullptr, "20", true, "seconds",
     "The window min_send_rate is averaged over.", &C::send_rate_window},
    {"server", "max_per_address", KeyType::Int, 1, 65536, nullptr, "16", true, "connections",
     "Connections one peer address may hold at once; more are closed at accept (one log line per "
     "address per 10 s). On a LAN each device has its own address and holds one or two. Behind NAT "
     "(a router between devices and otad) every device shares one address: raise it to the number of "
     "devices there.",
     &C::max_per_address},
    {"server", "max_auth_failures", KeyType::Int, 0, 65535, nullptr, "10", true, "failures",
     "Failed authentications (wrong password or PSK, unknown or revoked certificate) one address may "
     "make within auth_failure_window before its connections are refused for auth_backoff (0: no "
     "limit).",
     &C::max_auth_failures},
    {"server", "auth_failure_window", KeyType::Int, 1, 86400, nullptr, "60", true, "seconds",
     "The window max_auth_failures counts over.", &C::auth_failure_window},
    {"server", "auth_backoff", KeyType::Int, 1, 86400, nullptr, "60", true, "seconds",
     "How long an address over max_auth_failures is refused.", &C::auth_backoff},
    {"server", "log_level", KeyType::Choice, 0, 0, "error|warn|info|debug", "info", true, nullptr,
     "Lowest level written to the log.", &C::log_level},
    {"server", "log", KeyType::Choice, 0, 0, "stderr|syslog", "stderr", true, nullptr,
     "Where log lines go: stderr, or syslog (facility daemon, ident otad; one message per line, the same "
     "words), as OpenWrt's logd and journald collect them.",
     &C::log_target},
    {"server", "pid_file", KeyType::String, 0, 190, nullptr, "", false, nullptr,
     "Where otad writes its pid once its ports are bound (empty: nowhere). otactl reload signals this "
     "pid.",
     &C::pid_file},
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
    {"tcpboot", "hold_refused", KeyType::Int, 0, 86400, nullptr, "600", true, "seconds",
     "A device refused (or with no image for it) is held open this long before the close: the ESP32 "
     "network bootloader erases its partition and reboots when closed unanswered, and reconnects at once.",
     &C::tcpboot_hold_refused},
    {"tcpboot", "hold_max", KeyType::Int, 0, 65536, nullptr, "64", false, "connections",
     "Refused devices held open at once; beyond it they are closed at once, so held devices never fill "
     "the slab.",
     &C::tcpboot_hold_max},
    {"tcpboot", "verify_mac", KeyType::Choice, 0, 0, "off|neighbour|hostapd", "off", true, nullptr,
     "off: the MAC a device sends is believed. neighbour: served only when the kernel's neighbour table "
     "shows the peer's IP at that very link-layer address (a directly attached network; on a WPA2-Enterprise "
     "WLAN this binds the request to the station's 802.1X login); else refused, held, and logged naming "
     "both addresses. Peers behind a router, or on loopback, are refused: there is nothing to check. "
     "hostapd: as neighbour, and hostapd ([wpa2] hostapd_ctrl) must say the station logged in to the "
     "Wi-Fi over 802.1X with identity = that MAC.",
     &C::tcpboot_verify_mac},
    {"tcpboot", "verify_mac_exempt", KeyType::String, 0, 400, nullptr, "", true, nullptr,
     "Networks (10.9.0.0/16 fd00::/8 192.0.2.7, at most 16) whose devices verify_mac believes on their claim, "
     "for tcpboot and plain HTTP alike: devices behind a router the gateway trusts, where no link layer can "
     "be checked. Empty: none.",
     &C::verify_mac_exempt, prefixes_check},
    {"http", "enabled", KeyType::Bool, 0, 0, nullptr, "no", false, nullptr,
     "Serve HTTP on a plain listener (ESP8266httpUpdate, ESP32 HTTPUpdate, esp-update-server "
     "clients, downloads with Range).",
     &C::http_enabled},
    {"http", "listen", KeyType::Addr, 0, 0, nullptr, "0.0.0.0", false, nullptr,
     "Address of the plain HTTP listener.", &C::http_listen},
    {"http", "port", KeyType::Int, 1, 65535, nullptr, "8080", false, nullptr,
     "Port of the plain HTTP listener.", &C::http_port},
    {"http", "auth", KeyType::Choice, 0, 0, "none|password", "none", true, nullptr,
     "Credential the plain listener demands: none, or password (HTTP Basic, user = MAC; sent in "
     "clear without TLS).",
     &C::http_auth},
    {"http", "verify_mac", KeyType::Choice, 0, 0, "off|neighbour", "off", true, nullptr,
     "neighbour: a plain-HTTP request's x-ESP8266-STA-MAC / x-ESP32-STA-MAC must match the peer's "
     "link-layer address in the kernel's neighbour table (as tcpboot's verify_mac), else 403. A password "
     "proves the device on its own and is not checked again.",
     &C::http_verify_mac},
    {"http", "update_path", KeyType::String, 1, 128, nullptr, "/update", true, nullptr,
     "Path of the Arduino update endpoint (also takes esp-update-server's ?dev=&ver= query).",
     &C::update_path},
    {"http", "max_head", KeyType::Int, 512, 16384, nullptr, "2048", false, "bytes",
     "Fixed per-connection buffer for a request head; a head that does not fit gets 431 (414 "
     "when the request line alone does not fit).",
     &C::max_head},
    {"http", "read_timeout", KeyType::Int, 1, 3600, nullptr, "10", true, "seconds",
     "A request head must arrive within this time once it has started.", &C::http_read_timeout},
    {"http", "idle_timeout", KeyType::Int, 1, 3600, nullptr, "30", true, "seconds",
     "How long a keep-alive connection may wait for its next request.", &C::http_idle_timeout},
    {"http", "send_timeout", KeyType::Int, 1, 3600, nullptr, "60", true, "seconds",
     "A response that makes no progress for this long is aborted.", &C::http_send_timeout},
    {"http", "no_update_status", KeyType::Int, 204, 304, nullptr, "304", true, nullptr,
     "Status for 'no update': 304 (every client) or 204 (newest ESP32 HTTPUpdate only).",
     &C::no_update_status},
    {"http", "max_requests", KeyType::Int, 1, 1000000, nullptr, "1000", true, "requests",
     "Requests served on one keep-alive connection before it is closed.", &C::max_requests},
    {"https", "enabled", KeyType::Bool, 0, 0, nullptr, "no", false, nullptr,
     "Serve HTTPS (mbedTLS) with per-device credentials.", &C::https_enabled},
    {"https", "listen", KeyType::Addr, 0, 0, nullptr, "0.0.0.0", false, nullptr,
     "Address of the HTTPS listener.", &C::https_listen},
    {"https", "port", KeyType::Int, 1, 65535, nullptr, "8443", false, nullptr,
     "Port of the HTTPS listener.", &C::https_port},
    {"https", "auth", KeyType::Choice, 0, 0, "none|psk|cert|password|any", "any", false, nullptr,
     "Credential a device must present: psk (TLS-PSK, identity = MAC), cert (client certificate "
     "from the gateway CA), password (HTTP Basic, user = MAC), any of those, or none.",
     &C::https_auth},
    {"https", "cert_file", KeyType::String, 0, 190, nullptr, "/etc/otad/server.crt", false, nullptr,
     "Server certificate chain (PEM). otactl ca init creates one.", &C::cert_file},
    {"https", "key_file", KeyType::String, 0, 190, nullptr, "/etc/otad/server.key", false, nullptr,
     "Server private key (PEM).", &C::key_file},
    {"https", "client_ca_file", KeyType::String, 0, 190, nullptr, "/etc/otad/ca.crt", false,
     nullptr, "CA that issues device certificates (PEM), for auth = cert or any.",
     &C::client_ca_file},
    {"https", "ciphersuites", KeyType::String, 1, 180, nullptr,
     "ecdhe-ecdsa-aes128-gcm ecdhe-ecdsa-chacha20 ecdhe-psk-chacha20 ecdhe-psk-aes128 psk-aes128-gcm "
     "psk-chacha20",
     false, nullptr,
     "Space-separated suites, preferred first (short names: otad --list-ciphersuites). TLS 1.2 "
     "is the minimum.",
     &C::ciphersuites},
    {"https", "cipher_order", KeyType::Choice, 0, 0, "auto|listed", "auto", false, nullptr,
     "auto: at start otad times AES-128-GCM and ChaCha20-Poly1305 on this CPU (a few ms) and, "
     "when one is at least 10% faster, moves the suites using it ahead of the other suites of "
     "the same key exchange; the order of key exchanges stays as listed. listed: ciphersuites "
     "exactly as written.",
     &C::cipher_order},
    {"https", "groups", KeyType::Words, 0, 0, "x25519|p256|p384", "x25519 p256", false, nullptr,
     "ECDHE groups allowed, space-separated, preferred first: a device gets the first of these "
     "it offers. X25519 and P-256 cost the gateway about the same; P-384 half as much again. "
     "Debian's mbedTLS 2.28 reads only the first 11 groups a device lists, and mbedTLS 2.x "
     "devices (ESP-IDF 4.x) list X25519 twelfth: they get P-256, and 'x25519' alone refuses "
     "them. Every device must offer P-256 too, the curve of the gateway's certificate.",
     &C::groups},
    {"https", "tls_versions", KeyType::Words, 0, 0, "1.2|1.3", kTlsVersionsDefault, false, nullptr,
     "TLS versions offered. 1.3 needs an mbedTLS 3.x built with it (OpenWrt's and Debian trixie's 3.6 are); "
     "keep 1.2 for ESP8266 (BearSSL) and ESP-IDF 4.x devices, which speak nothing newer.",
     &C::tls_versions, tls_versions_check},
    {"https", "max_tls_connections", KeyType::Int, 1, 65536, nullptr, "256", false, "connections",
     "Fixed pool of TLS contexts; when all are busy, HTTPS stops accepting until one frees. With "
     "Debian's mbedTLS a downloading device costs about 27 KiB of RAM, a context once idle about "
     "half that.",
     &C::max_tls_connections},
    {"https", "max_handshakes", KeyType::Int, 1, 65536, nullptr, "32", false, "handshakes",
     "TLS handshakes in progress at once; beyond it HTTPS stops accepting and devices wait in "
     "the kernel backlog. Keeps each handshake fast (and inside handshake_timeout) when a whole "
     "fleet reconnects, and bounds handshake memory.",
     &C::max_handshakes},
    {"https", "max_handshakes_per_address", KeyType::Int, 1, 65536, nullptr, "4", true, "handshakes",
     "TLS handshakes one peer address may have in progress at once; more are closed at once. A device "
     "makes one at a time.",
     &C::max_handshakes_per_address},
    {"https", "handshake_timeout", KeyType::Int, 1, 600, nullptr, "10", true, "seconds",
     "A TLS handshake must complete within this time, counted from accept. With 3/4 of the slab in use, "
     "one that has not sent its ClientHello gets 2 s (SECURITY.md).",
     &C::handshake_timeout},
    {"https", "session_tickets", KeyType::Bool, 0, 0, nullptr, "yes", false, nullptr,
     "Resume sessions with tickets (RFC 5077) under a rotating key: reconnects skip the full "
     "handshake.",
     &C::session_tickets},
    {"https", "ticket_lifetime", KeyType::Int, 60, 604800, nullptr, "86400", false, "seconds",
     "Ticket key rotation period, and how long a ticket or a cached session may resume.",
     &C::ticket_lifetime},
    {"https", "session_cache", KeyType::Int, 0, 65536, nullptr, "1024", false, "sessions",
     "Sessions kept for resumption by session ID, for devices that take no tickets (BearSSL on "
     "the ESP8266 resumes only this way): a resumed handshake skips the ECDHE and signature "
     "work. A fixed table of about 870 bytes a slot, resident only as slots fill; each session "
     "may sit in one of two slots, and a new one takes a free slot or evicts the older of the "
     "two, so allow some room over the number of devices that resume this way. 0 turns it "
     "off.",
     &C::session_cache},
    {"https", "max_fragment_length", KeyType::Int, 0, 4096, nullptr, "0", false, "bytes",
     "Largest TLS record otad sends: 0 (16384), 512, 1024, 2048 or 4096, for RAM-poor clients "
     "(a client's own max_fragment_length request is always honoured).",
     &C::max_fragment_length},
    {"admission", "max_downloads", KeyType::Int, 0, 65536, nullptr, "0", true, "downloads",
     "Image bodies in flight at once, over every listener; 0 = no cap. Above it HTTP answers 503 with "
     "Retry-After before any body, and tcpboot devices wait, held open, and are served in arrival order.",
     &C::max_downloads},
    {"admission", "retry_after", KeyType::Int, 1, 3600, nullptr, "30", true, "seconds",
     "Retry-After of a 503, jittered by up to 50% either way so a fleet that rebooted together comes "
     "back spread out.",
     &C::retry_after},
    {"admission", "per_device", KeyType::Int, 0, 64, nullptr, "1", true, "downloads",
     "Bodies in flight per device (by MAC, else address); one more is answered 503. 0 = no limit.",
     &C::per_device},
    {"admission", "admission_hold", KeyType::Int, 0, 3600, nullptr, "30", true, "seconds",
     "How long a download keeps its admission after a Range response, so esp_https_ota's 64 KiB steps "
     "are never answered 503 half way.",
     &C::admission_hold},
    {"admission", "bandwidth", KeyType::Int, 0, int64_t{1} << 40, nullptr, "0", true, "bytes/s",
     "Bytes per second shared by every image body (a token bucket on the reactor's clock), so updates do "
     "not starve the site's uplink; 0 = off.",
     &C::bandwidth},
    {"admin", "enabled", KeyType::Bool, 0, 0, nullptr, "no", false, nullptr,
     "Serve the admin API (uploads, images, platforms, status) on its own port.", &C::admin_enabled},
    {"admin", "listen", KeyType::Addr, 0, 0, nullptr, "127.0.0.1", false, nullptr,
     "Address of the admin listener; keep it on loopback or a management network.", &C::admin_listen},
    {"admin", "port", KeyType::Int, 1, 65535, nullptr, "8090", false, nullptr, "Port of the admin listener.",
     &C::admin_port},
    {"admin", "tls", KeyType::Bool, 0, 0, nullptr, "no", false, nullptr,
     "Speak HTTPS on the admin port, with [https] cert_file and key_file (no client certificates: the "
     "bearer token is the credential).",
     &C::admin_tls},
    {"admin", "token_file", KeyType::String, 1, 190, nullptr, "/etc/otad/admin-tokens", true, nullptr,
     "Bearer tokens, one salted SHA-256 per token (otactl admin token add NAME prints the token once).",
     &C::admin_token_file},
    {"admin", "max_uploads", KeyType::Int, 1, 16, nullptr, "2", false, "uploads",
     "Uploads in progress at once; one more is answered 503. Each streams to a temporary file in the "
     "catalog directory through the connection's buffer, never into RAM.",
     &C::admin_max_uploads},
    {"fleet", "loop_guard", KeyType::Int, 0, 100, nullptr, "3", true, "downloads",
     "A device that downloads the same image whole this many times within loop_window without ever "
     "reporting it installed gets 'no update' and is recorded as failing: it stops update loops when a "
     "sketch reports a version that is not the catalog's. 0 = off.",
     &C::loop_guard},
    {"fleet", "loop_window", KeyType::Int, 60, 604800, nullptr, "3600", true, "seconds",
     "The window of loop_guard.", &C::loop_window},
    {"state", "file", KeyType::String, 0, 190, nullptr, "", false, nullptr,
     "Snapshot of every device's state (last seen, version, last download and its outcome), written "
     "atomically every flush_interval and at shutdown, never per request, to spare the flash. A missing "
     "or corrupt snapshot starts empty. Empty: RAM only.",
     &C::state_file},
    {"state", "flush_interval", KeyType::Int, 1, 86400, nullptr, "300", true, "seconds",
     "How often the state snapshot is written (only when something changed). A crash loses at most this "
     "much history.",
     &C::flush_interval},
    {"state", "max_devices", KeyType::Int, 16, 1000000, nullptr, "10000", false, "devices",
     "Devices tracked in RAM (about 0.5 KiB each). Registered devices are always tracked; past the cap "
     "the unknown device seen longest ago is forgotten first.",
     &C::max_devices},
    {"state", "event_log", KeyType::String, 0, 190, nullptr, "", false, nullptr,
     "Append-only JSON-lines log: one line per transfer record and per decision that refuses or halts. "
     "Empty: the newest 512 events are kept in RAM only (GET /api/events).",
     &C::event_log},
    {"state", "event_log_size", KeyType::Int, 4096, int64_t{1} << 32, nullptr, "1048576", true, "bytes",
     "The event log is rotated (event_log.1, .2, ...) when the next line would pass this size.",
     &C::event_log_size},
    {"state", "event_log_keep", KeyType::Int, 0, 100, nullptr, "3", true, "files",
     "Rotated event logs kept; older ones are deleted.", &C::event_log_keep},
    {"wpa2", "eap_user_file", KeyType::String, 0, 190, nullptr, "", true, nullptr,
     "hostapd eap_user_file that otad keeps in step with the registry: every enabled device with a "
     "certificate (EAP-TLS) or a Wi-Fi password (PEAP/TTLS-MSCHAPv2), identity = its MAC, in a block "
     "between '# BEGIN otad' and '# END otad'; the operator's lines around it are kept. Written (mode "
     "0600) at start, at reload and by otactl when its content changes. Empty: not managed.",
     &C::eap_user_file},
    {"wpa2", "radius_users_file", KeyType::String, 0, 190, nullptr, "", true, nullptr,
     "The same for FreeRADIUS's users file (NT-Password entries for the Wi-Fi passwords; EAP-TLS is "
     "FreeRADIUS's CA check). Empty: not managed.",
     &C::radius_users_file},
    {"wpa2", "nt_hash_file", KeyType::String, 0, 190, nullptr, "", true, nullptr,
     "Where otactl device add --wifi-password keeps each device's NT hash (MD4 of the password, what "
     "MSCHAPv2 needs; password-equivalent, so mode 0600). Empty: no Wi-Fi passwords.",
     &C::nt_hash_file},
    {"wpa2", "crl_file", KeyType::String, 0, 190, nullptr, "", true, nullptr,
     "The gateway CA's certificate followed by its CRL (PEM), rewritten by otactl whenever a device "
     "with a certificate is revoked or removed: point hostapd's ca_cert at it with check_crl=1 (FreeRADIUS: "
     "ca_file, check_crl = yes), so a revoked certificate stays out even under a catch-all user line. "
     "Empty: none.",
     &C::crl_file},
    {"wpa2", "hostapd_ctrl", KeyType::String, 0, 107, nullptr, "", true, nullptr,
     "hostapd's control socket for the access point devices join (e.g. /var/run/hostapd/wlan0), asked by "
     "verify_mac = hostapd with 'STA <mac>'. Empty: none (verify_mac = hostapd then refuses).",
     &C::hostapd_ctrl},
    {"wpa2", "reload_command", KeyType::String, 0, 190, nullptr, "", true, nullptr,
     "Run by /bin/sh after a user file changed, so the RADIUS server reads it: e.g. 'kill -HUP $(cat "
     "/var/run/hostapd.pid)', 'ubus call hostapd.wlan0 reload', 'radmin -e hup'. Empty: none.",
     &C::wpa2_reload_command},
    {"wpa2", "reload_timeout", KeyType::Int, 1, 300, nullptr, "10", true, "seconds",
     "A reload_command still running after this long is killed and the failure logged.",
     &C::wpa2_reload_timeout},
};

bool is_choice(std::string_view choices, std::string_view v) {
  for (size_t i = 0; i <= choices.size();) {
    size_t j = choices.find('|', i);
    if (j == std::string_view::npos) j = choices.size();
    if (choices.substr(i, j - i) == v) return true;
    i = j + 1;
  }
  return false;
}

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
    case KeyType::Choice:
      if (!is_choice(k.choices, v)) return "'" + std::string(v) + "' is not one of " + k.choices;
      c.*std::get<std::string C::*>(k.field) = std::string(v);
      return "";
    case KeyType::Words: {
      std::vector<std::string_view> seen;
      for (size_t i = 0; i < v.size();) {
        size_t j = v.find_first_of(" \t", i);
        if (j == std::string_view::npos) j = v.size();
        std::string_view w = v.substr(i, j - i);
        if (!w.empty()) {
          if (!is_choice(k.choices, w)) return "'" + std::string(w) + "' is not one of " + k.choices;
          if (std::find(seen.begin(), seen.end(), w) != seen.end()) return "'" + std::string(w) + "' given twice";
          seen.push_back(w);
        }
        i = j + 1;
      }
      if (seen.empty()) return "must name at least one of " + std::string(k.choices);
      if (k.check) {
        if (std::string why = k.check(v); !why.empty()) return why;
      }
      c.*std::get<std::string C::*>(k.field) = std::string(v);
      return "";
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
      // Written back ("key = ;x") it would read as a comment: found by fuzzing.
      if (!v.empty() && (v[0] == ';' || v[0] == '#')) return "a value may not begin with ';' or '#' (a comment)";
      if (static_cast<int64_t>(v.size()) > k.max) {
        return "longer than " + std::to_string(k.max) + " characters";
      }
      if (k.check) {
        if (std::string why = k.check(v); !why.empty()) return why;
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
  if (!c.tcpboot_enabled && !c.http_enabled && !c.https_enabled) {
    errors->push_back(name + ": no listener is enabled ([tcpboot], [http] and [https] are all off)");
  }
  if (c.no_update_status != 204 && c.no_update_status != 304) {
    errors->push_back(name + ": http.no_update_status: must be 304 or 204");
  }
  const int64_t mfl = c.max_fragment_length;
  if (mfl != 0 && mfl != 512 && mfl != 1024 && mfl != 2048 && mfl != 4096) {
    errors->push_back(name + ": https.max_fragment_length: must be 0, 512, 1024, 2048 or 4096");
  }
  if (c.update_path.empty() || c.update_path[0] != '/') {
    errors->push_back(name + ": http.update_path: must start with '/'");
  }
  if (c.https_enabled && (c.cert_file.empty() || c.key_file.empty())) {
    errors->push_back(name + ": https: cert_file and key_file are needed when enabled");
  }
  // Enabled listeners must not share a port.
  std::vector<int64_t> ports;
  for (auto [on, port] : {std::pair{c.tcpboot_enabled, c.tcpboot_port}, {c.http_enabled, c.http_port},
                          {c.https_enabled, c.https_port}}) {
    if (!on) continue;
    if (std::find(ports.begin(), ports.end(), port) != ports.end()) {
      errors->push_back(name + ": two listeners on port " + std::to_string(port));
    }
    ports.push_back(port);
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
