// Fixed-size key material that wipes itself.
#pragma once

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace netaio::inline v0 {

/// N bytes of key material, zeroed with sodium_memzero when destroyed or
/// moved from (a moved-from key is a second copy nobody needs).
template <std::size_t N>
class secret_array {
 public:
  secret_array() noexcept { bytes_.fill(0); }
  explicit secret_array(std::span<const std::uint8_t, N> src) noexcept {
    for (std::size_t i = 0; i < N; ++i)
      bytes_[i] = src[i];
  }
  secret_array(const secret_array& o) noexcept : bytes_(o.bytes_) {}
  secret_array& operator=(const secret_array& o) noexcept {
    bytes_ = o.bytes_;
    return *this;
  }
  secret_array(secret_array&& o) noexcept : bytes_(o.bytes_) { o.wipe(); }
  secret_array& operator=(secret_array&& o) noexcept {
    if (this != &o) {
      bytes_ = o.bytes_;
      o.wipe();
    }
    return *this;
  }
  ~secret_array() { wipe(); }

  std::uint8_t* data() noexcept { return bytes_.data(); }
  const std::uint8_t* data() const noexcept { return bytes_.data(); }
  static constexpr std::size_t size() noexcept { return N; }
  std::uint8_t& operator[](std::size_t i) noexcept { return bytes_[i]; }
  const std::uint8_t& operator[](std::size_t i) const noexcept { return bytes_[i]; }
  auto begin() const noexcept { return bytes_.begin(); }
  auto end() const noexcept { return bytes_.end(); }
  /// A view of the bytes (for APIs taking byte_view).
  std::span<const std::uint8_t, N> view() const noexcept { return bytes_; }
  /// Zeroes the bytes now.
  void wipe() noexcept { sodium_memzero(bytes_.data(), N); }

 private:
  std::array<std::uint8_t, N> bytes_;
};

}  // namespace netaio::inline v0
