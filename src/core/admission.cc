#include "core/admission.h"

#include "core/conn.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace otad {
namespace {

void copy(char* dst, size_t cap, std::string_view s) {
  const size_t n = std::min(s.size(), cap - 1);
  memcpy(dst, s.data(), n);
  dst[n] = '\0';
}

}  // namespace

Admission::Admission(size_t capacity)
    : entries_(static_cast<Entry*>(calloc(capacity, sizeof(Entry)))),
      capacity_(capacity),
      queue_(std::make_unique<Conn*[]>(capacity)) {
  if (!entries_) throw std::bad_alloc();
}

void Admission::configure(uint32_t max_downloads, uint32_t per_device, int64_t hold_ms, uint32_t retry_after_s) {
  max_ = max_downloads;
  per_device_ = per_device;
  hold_ms_ = hold_ms;
  retry_after_ = retry_after_s;
}

void Admission::expire(int64_t now) {
  for (size_t i = 0; i < capacity_; ++i) {
    Entry& e = entries_[i];
    if (e.used && !e.active && e.hold_until <= now) e.used = false;
  }
}

bool Admission::live(const Entry& e, std::string_view sha, int64_t now) const {
  return e.used && (e.active || e.hold_until > now) && sha.substr(0, 16) == e.sha;
}

uint32_t Admission::downloading(std::string_view sha) const {
  const int64_t now = now_ms();
  uint32_t n = 0;
  for (size_t i = 0; i < capacity_; ++i) n += live(entries_[i], sha, now);
  return n;
}

bool Admission::holds(const Mac& mac, std::string_view sha) const {
  const int64_t now = now_ms();
  const std::string who = mac.str();
  for (size_t i = 0; i < capacity_; ++i) {
    if (live(entries_[i], sha, now) && who == entries_[i].who) return true;
  }
  return false;
}

uint32_t Admission::in_use(int64_t now) {
  expire(now);
  uint32_t n = 0;
  for (size_t i = 0; i < capacity_; ++i) n += entries_[i].used;
  return n;
}

Admission::Verdict Admission::admit(std::string_view who, bool is_device, std::string_view sha, int64_t now,
                                    uint32_t* ticket) {
  expire(now);
  char w[48], h[17];
  copy(w, sizeof w, who);
  copy(h, sizeof h, sha);
  uint32_t used = 0, mine = 0;
  Entry* held = nullptr;
  Entry* free_entry = nullptr;
  for (size_t i = 0; i < capacity_; ++i) {
    Entry& e = entries_[i];
    if (!e.used) {
      if (!free_entry) free_entry = &e;
      continue;
    }
    used++;
    if (strcmp(e.who, w) != 0) continue;
    if (e.active) mine++;
    else if (!held && strcmp(e.sha, h) == 0) held = &e;
  }
  Entry* take = held;
  if (!take) {
    if (is_device && per_device_ && mine >= per_device_) return Verdict::DeviceBusy;
    if (!free_entry) {
      // Every entry busy or held: a hold is a courtesy, the oldest gives way.
      for (size_t i = 0; i < capacity_; ++i) {
        Entry& e = entries_[i];
        if (!e.active && (!free_entry || e.hold_until < free_entry->hold_until)) free_entry = &e;
      }
      if (free_entry) used--;
    }
    if ((max_ && used >= max_) || !free_entry) return Verdict::Busy;
    take = free_entry;
    take->used = true;
    memcpy(take->who, w, sizeof w);
    memcpy(take->sha, h, sizeof h);
  } else if (is_device && per_device_ && mine >= per_device_) {
    return Verdict::DeviceBusy;
  }
  take->active = true;
  *ticket = static_cast<uint32_t>(take - entries_.get()) + 1;
  return Verdict::Admitted;
}

void Admission::release(uint32_t ticket, int64_t now, bool hold) {
  if (!ticket || ticket > capacity_) return;
  Entry& e = entries_[ticket - 1];
  e.active = false;
  e.hold_until = now + hold_ms_;
  if (!hold || hold_ms_ <= 0) e.used = false;
}

uint32_t Admission::retry_after_s() {
  // xorshift: the jitter needs spread, not secrecy.
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  const double f = 0.5 + static_cast<double>(rng_ % 1001) / 1000.0;  // 0.5 .. 1.5
  return std::max<uint32_t>(1, static_cast<uint32_t>(retry_after_ * f + 0.5));
}

void Admission::enqueue(Conn* c) {
  if (q_len_ == capacity_) return;
  queue_[(q_head_ + q_len_) % capacity_] = c;
  q_len_++;
}

void Admission::dequeue(Conn* c) {
  size_t out = 0;
  for (size_t i = 0; i < q_len_; ++i) {
    Conn* x = queue_[(q_head_ + i) % capacity_];
    if (x != c) queue_[(q_head_ + out++) % capacity_] = x;
  }
  q_len_ = out;
}

Conn* Admission::first_waiting() const { return q_len_ ? queue_[q_head_] : nullptr; }

void Pacer::configure(uint64_t bytes_per_s) {
  rate_ = bytes_per_s;
  // A tenth of a second's worth, and at least one 16 KiB record.
  cap_ = std::max(16384.0, static_cast<double>(bytes_per_s) / 10);
  tokens_ = std::min(tokens_, cap_);
}

size_t Pacer::take(size_t want, int64_t now, int64_t* wait_ms) {
  if (!rate_) return want;
  if (last_ms_) tokens_ = std::min(cap_, tokens_ + static_cast<double>(now - last_ms_) * static_cast<double>(rate_) / 1000);
  last_ms_ = now;
  if (tokens_ < 1) {
    // Until a chunk's worth (or the whole bucket) is back.
    const double need = std::min(cap_, 16384.0);
    *wait_ms = std::max<int64_t>(1, static_cast<int64_t>((need - tokens_) * 1000 / static_cast<double>(rate_)));
    return 0;
  }
  const size_t n = std::min(want, static_cast<size_t>(tokens_));
  tokens_ -= static_cast<double>(n);
  return n;
}

void Pacer::give_back(size_t unused) {
  if (rate_) tokens_ = std::min(cap_, tokens_ + static_cast<double>(unused));
}

}  // namespace otad
