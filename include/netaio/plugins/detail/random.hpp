// Random bytes for the plugins' nonces, IVs and split points without a
// system call each: libsodium's randombytes_buf asks the kernel (getrandom)
// on every call, which cost a sealed message more than its HMAC did.
//
// Each thread keeps a ChaCha20 key drawn once from randombytes_buf and
// hands out the keystream of (key, counter), the counter going up by one per
// 256-byte block. Why that is safe for nonces and IVs:
// - a nonce must never repeat for a key. ChaCha20 under a secret uniformly
//   random key is a pseudorandom function of its 64-bit nonce, and the
//   counter never repeats one (2^64 blocks), so the bytes are as good as
//   uniformly random ones: 16-byte nonces collide as rarely as the kernel's
//   would (the birthday bound, 2^-64 after 2^32 messages). Threads have
//   independent keys, so they share no state and take no lock.
// - a forked child would inherit its parent's key and counter and repeat its
//   stream, so fork() makes every thread draw a new key (pthread_atfork).
// - nonces need not be secret, but they must not be predictable from earlier
//   ones where a plugin relies on that (the reference draws them at random):
//   without the key the stream cannot be predicted, and bytes handed out are
//   wiped from the buffer.
#pragma once

#include <netaio/plugins/detail/sodium.hpp>
#include <netaio/plugins/secret.hpp>

#include <sodium.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#if !defined(_WIN32)
#include <pthread.h>
#endif

namespace netaio::inline v0::detail {

/// Bumped in a forked child: every thread's stream re-keys on its next use.
inline std::atomic<std::uint64_t> random_generation{0};

/// One thread's ChaCha20 keystream (see the file comment).
class random_stream {
 public:
  random_stream() { watch_fork(); }
  random_stream(const random_stream&) = delete;
  random_stream& operator=(const random_stream&) = delete;
  ~random_stream() { sodium_memzero(buf_.data(), buf_.size()); }

  /// Fills `out` with random bytes.
  void fill(std::span<std::uint8_t> out) {
    const std::uint64_t gen = random_generation.load(std::memory_order_relaxed);
    if (!keyed_ || gen != generation_) rekey(gen);
    while (!out.empty()) {
      if (pos_ == buf_.size()) refill();
      const std::size_t n = std::min(out.size(), buf_.size() - pos_);
      std::copy_n(buf_.data() + pos_, n, out.data());
      sodium_memzero(buf_.data() + pos_, n);
      pos_ += n;
      out = out.subspan(n);
    }
  }

  /// A uniformly random integer in [0, bound) (bound > 0), without modulo bias.
  std::uint32_t uniform(std::uint32_t bound) {
    // Values below 2^32 mod bound would make the small results likelier.
    const std::uint32_t floor = static_cast<std::uint32_t>(-bound) % bound;
    for (;;) {
      std::uint32_t v = 0;
      std::array<std::uint8_t, 4> b{};
      fill(b);
      for (const std::uint8_t x : b)
        v = (v << 8) | x;
      if (v >= floor) return v % bound;
    }
  }

  /// This thread's stream.
  static random_stream& local() {
    thread_local random_stream s;
    return s;
  }

 private:
  static void watch_fork() {
#if !defined(_WIN32)
    static const bool registered = [] {
      ::pthread_atfork(nullptr, nullptr,
                       [] { random_generation.fetch_add(1, std::memory_order_relaxed); });
      return true;
    }();
    (void)registered;
#endif
  }
  void rekey(std::uint64_t gen) {
    ensure_sodium();
    randombytes_buf(key_.data(), key_.size());
    counter_ = 0;
    pos_ = buf_.size();
    generation_ = gen;
    keyed_ = true;
  }
  void refill() {
    std::array<std::uint8_t, crypto_stream_chacha20_NONCEBYTES> nonce{};
    for (std::size_t i = 0; i < nonce.size(); ++i)
      nonce[i] = static_cast<std::uint8_t>(counter_ >> (8 * i));
    ++counter_;
    crypto_stream_chacha20(buf_.data(), buf_.size(), nonce.data(), key_.data());
    pos_ = 0;
  }

  secret_array<crypto_stream_chacha20_KEYBYTES> key_;
  std::array<std::uint8_t, 256> buf_{};
  std::size_t pos_ = 0;
  std::uint64_t counter_ = 0;
  std::uint64_t generation_ = 0;
  bool keyed_ = false;
};

/// Fills `out` with random bytes from this thread's stream.
inline void random_bytes(std::span<std::uint8_t> out) {
  random_stream::local().fill(out);
}

}  // namespace netaio::inline v0::detail
