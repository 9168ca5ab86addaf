// The device registry: devices.ini, one [MAC] section per device. The MAC
// is the device's identity; sections accept any MAC spelling and are stored
// canonical. otactl rewrites the file atomically; otad reads it at start-up
// and on SIGHUP.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "otad/mac.h"
#include "otad/result.h"

namespace otad {

struct Device {
  Mac mac;
  std::string name;      // free text for people
  std::string platform;  // which platform's current image it gets
  std::string image;     // pinned image (SHA-256); overrides platform
  std::string chip;      // the exact chip ("esp32c3"), when known: only images for it are served
  std::vector<std::string> groups;  // rollout groups it belongs to
  bool enabled = true;
  // Credentials (any may be empty). A lost unit is revoked alone: disable or
  // remove it, and only its credentials stop working.
  std::string psk;            // TLS-PSK key, hex (16..64 bytes)
  std::string password_hash;  // "pbkdf2-sha256$iterations$salt$hash", never the password
  std::string cert;           // SHA-256 of the device certificate (DER), hex: pins it
};

class Registry {
 public:
  // A missing file is an empty registry; anything malformed is an error.
  static Result<Registry> load(const std::string& path, std::vector<std::string>* errors);
  Status save(const std::string& path) const;

  const Device* find(const Mac& mac) const;
  void put(const Device& d);
  bool remove(const Mac& mac);
  std::vector<Device> sorted() const;
  size_t size() const { return devices_.size(); }

 private:
  std::unordered_map<Mac, Device, MacHash> devices_;
};

}  // namespace otad
