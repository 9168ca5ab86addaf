// Device identity: a MAC address. Canonical text form is 12 lowercase hex
// digits with no separators (what the ESP32 network bootloader sends).
#pragma once
#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace otad {

struct Mac {
  std::array<uint8_t, 6> b{};
  std::string str() const;  // "30aea4041d8c"
  uint64_t as_u64() const;
  auto operator<=>(const Mac&) const = default;
};

// Accepts "30aea4041d8c", "30:AE:A4:04:1D:8C" and "30-ae-a4-04-1d-8c"
// (either case; one separator kind throughout). Pure.
std::optional<Mac> parse_mac(std::string_view s);

struct MacHash {
  size_t operator()(const Mac& m) const { return std::hash<uint64_t>()(m.as_u64()); }
};

}  // namespace otad
