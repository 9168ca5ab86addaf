// Admission control: how many image bodies may be in flight at once
// ([admission] max_downloads), how many per device (per_device), and the
// admission a Range download keeps between its requests (admission_hold),
// so esp_https_ota's 64 KiB steps are not cut off half way. A fixed table,
// sized at start-up; never grows.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "otad/decision.h"

namespace otad {

struct Conn;

class Admission final : public FleetLoad {
 public:
  explicit Admission(size_t capacity);
  void configure(uint32_t max_downloads, uint32_t per_device, int64_t hold_ms, uint32_t retry_after_s);

  enum class Verdict : uint8_t { Admitted, Busy, DeviceBusy };
  // A body of image `sha` for `who` (the device's MAC, else its address).
  // An admission held from an earlier range of the same image is taken
  // over. per_device applies only where who is a device (a MAC): many
  // devices may share an address. *ticket: what release() gives back.
  Verdict admit(std::string_view who, bool is_device, std::string_view sha, int64_t now_ms, uint32_t* ticket);
  // The body is done (or cut). hold: more of the image is to come (a Range
  // walk), so the admission is kept for admission_hold; else it is free.
  void release(uint32_t ticket, int64_t now_ms, bool hold);
  uint32_t in_use(int64_t now_ms);
  uint32_t max() const { return max_; }
  // Seconds for Retry-After: retry_after, jittered by up to ±50% so a fleet
  // that rebooted together comes back spread out.
  uint32_t retry_after_s();

  // Devices that wait for an admission without a way to be told to come
  // back (tcpboot: the bootloader waits in read()), in arrival order.
  void enqueue(Conn* c);
  void dequeue(Conn* c);  // it left, or got in
  Conn* first_waiting() const;

  // FleetLoad: admissions (in flight, or held between Range requests) per
  // image, and whether a device holds one.
  uint32_t downloading(std::string_view sha256) const override;
  bool holds(const Mac& mac, std::string_view sha256) const override;

 private:
  struct Entry {
    bool used = false, active = false;
    int64_t hold_until = 0;
    char who[48] = {};
    char sha[17] = {};  // the first 16 hex digits are enough to tell images apart
  };
  void expire(int64_t now_ms);
  bool live(const Entry& e, std::string_view sha256, int64_t now) const;
  // Zeroed storage (calloc): an unused entry is all zero bytes, and the
  // pages of a table larger than the fleet stay untouched.
  struct FreeDeleter {
    void operator()(void* p) const { free(p); }
  };
  std::unique_ptr<Entry[], FreeDeleter> entries_;
  size_t capacity_;
  std::unique_ptr<Conn*[]> queue_;
  size_t q_head_ = 0, q_len_ = 0;
  uint32_t max_ = 0, per_device_ = 0, retry_after_ = 30;
  int64_t hold_ms_ = 0;
  uint64_t rng_ = 0x9e3779b97f4a7c15ULL;
};

// The shared bandwidth cap ([admission] bandwidth): a token bucket refilled
// from the clock. Every body step asks it how much it may send now.
class Pacer {
 public:
  void configure(uint64_t bytes_per_s);
  // Bytes a body may send now (up to want); 0 with *wait_ms set when the
  // bucket is empty.
  size_t take(size_t want, int64_t now_ms, int64_t* wait_ms);
  void give_back(size_t unused);
  bool on() const { return rate_ > 0; }

 private:
  uint64_t rate_ = 0;
  double tokens_ = 0, cap_ = 0;
  int64_t last_ms_ = 0;
};

}  // namespace otad
