// Opt-in replay protection for authenticated messages (beyond the reference).
#pragma once

#include <netaio/plugins/detail/sodium.hpp>
#include <netaio/wire/bytes.hpp>

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>

namespace netaio::inline v0 {

/// How a replay_guard bounds time and memory.
struct replay_options {
  /// A message whose ts differs from now by more than this many seconds is
  /// rejected; a nonce is remembered for as long as its ts is in the window.
  std::int64_t window_seconds = 60;
  /// At most this many nonces are remembered. When full, the oldest is
  /// forgotten and every ts up to its ts is rejected from then on, so memory
  /// stays bounded without ever accepting a replay.
  std::size_t max_nonces = 65536;
};

/// Why replay_guard::admit() turned a message down.
enum class replay_verdict : std::uint8_t {
  fresh,     ///< accepted and remembered
  stale,     ///< ts outside the window (or at or below the eviction floor)
  replayed,  ///< nonce already seen within the window
};

/// Remembers recent (ts, nonce) pairs and refuses repeats and stale ones.
/// Thread-safe; one guard per receiving plugin instance.
class replay_guard {
 public:
  explicit replay_guard(replay_options opts = {}) : opts_(opts) {
    netaio::detail::ensure_sodium();
    randombytes_buf(hash_key_.data(), hash_key_.size());
  }
  ~replay_guard() { sodium_memzero(hash_key_.data(), hash_key_.size()); }
  replay_guard(const replay_guard&) = delete;
  replay_guard& operator=(const replay_guard&) = delete;

  /// Checks (ts, nonce) at time `now` and remembers it when fresh. Call only
  /// for messages that already passed authentication, so that forged
  /// messages cannot fill the memory.
  replay_verdict admit(std::int64_t ts, byte_view nonce, std::int64_t now) {
    const nonce_key key = key_of(nonce);
    std::lock_guard lock(mutex_);
    expire(now);
    if (ts > now + opts_.window_seconds || ts < now - opts_.window_seconds ||
        (has_floor_ && ts <= floor_)) {
      return replay_verdict::stale;
    }
    if (seen_.contains(key)) return replay_verdict::replayed;
    while (opts_.max_nonces > 0 && seen_.size() >= opts_.max_nonces)
      evict_oldest();
    if (opts_.max_nonces == 0) {
      // Nothing can be remembered: refuse everything up to this ts from now on.
      raise_floor(ts);
      return replay_verdict::fresh;
    }
    auto it = by_ts_.emplace(ts, key);
    seen_.emplace(key, it);
    return replay_verdict::fresh;
  }

  /// Number of nonces currently remembered (never above max_nonces).
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return seen_.size();
  }

  const replay_options& options() const noexcept { return opts_; }

 private:
  // Nonces are remembered by a keyed 16-byte hash: fixed memory per entry
  // whatever the nonce length, and collisions cannot be aimed at.
  using nonce_key = std::array<std::uint8_t, 16>;
  struct key_hash {
    std::size_t operator()(const nonce_key& k) const noexcept {
      std::size_t h;
      std::memcpy(&h, k.data(), sizeof h);
      return h;
    }
  };
  using ts_index = std::multimap<std::int64_t, nonce_key>;

  nonce_key key_of(byte_view nonce) const {
    nonce_key k;
    crypto_generichash(k.data(), k.size(), nonce.data(), nonce.size(), hash_key_.data(),
                       hash_key_.size());
    return k;
  }
  void expire(std::int64_t now) {
    const std::int64_t oldest_allowed = now - opts_.window_seconds;
    while (!by_ts_.empty() && by_ts_.begin()->first < oldest_allowed) {
      seen_.erase(by_ts_.begin()->second);
      by_ts_.erase(by_ts_.begin());
    }
  }
  void evict_oldest() {
    raise_floor(by_ts_.begin()->first);
    seen_.erase(by_ts_.begin()->second);
    by_ts_.erase(by_ts_.begin());
  }
  void raise_floor(std::int64_t ts) {
    if (!has_floor_ || ts > floor_) floor_ = ts;
    has_floor_ = true;
  }

  replay_options opts_;
  std::array<std::uint8_t, crypto_generichash_KEYBYTES> hash_key_{};
  mutable std::mutex mutex_;
  ts_index by_ts_;
  std::unordered_map<nonce_key, ts_index::iterator, key_hash> seen_;
  std::int64_t floor_ = 0;
  bool has_floor_ = false;
};

}  // namespace netaio::inline v0
