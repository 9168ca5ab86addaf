// The ESP32 network bootloader protocol (protocols.md §1): the device sends
// its STA MAC as exactly 12 ASCII hex characters, no terminator; the gateway
// answers u32le size | 20-byte SHA-1 | image, once. Pure helpers here; the
// connection state machine lives in src/proto/tcpboot_conn.cc.
#pragma once
#include <cstddef>
#include <cstdint>

#include "otad/mac.h"

namespace otad {

constexpr size_t kTcpbootMacLen = 12;
constexpr size_t kTcpbootHeaderLen = 24;

struct MacReader {
  uint8_t buf[kTcpbootMacLen];
  uint8_t len = 0;
};

enum class MacFeed { NeedMore, Done, Invalid };

// Feeds bytes as they arrive (possibly one at a time). The caller offers at
// most kTcpbootMacLen - r.len bytes; nothing after the MAC is consumed. A
// non-hex byte is Invalid at once: there is no point waiting for the rest.
MacFeed mac_feed(MacReader& r, const uint8_t* p, size_t n);
// Valid after Done.
Mac mac_reader_mac(const MacReader& r);

// Why bytes that made mac_feed Invalid are no MAC, for the log line: a
// device pointed at the wrong port says more than "non-hex byte". head is
// the connection's first bytes (the hex kept so far, then what was read).
const char* tcpboot_misfit(const uint8_t* head, size_t n);

void tcpboot_header(uint32_t size, const uint8_t sha1[20], uint8_t out[kTcpbootHeaderLen]);

}  // namespace otad
