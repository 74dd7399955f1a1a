// Byte buffers and views used across the wire and plugin layers.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace netaio::inline v0 {

/// Owned bytes.
using byte_buffer = std::vector<std::uint8_t>;
/// A view of bytes someone else owns.
using byte_view = std::span<const std::uint8_t>;

/// Views the characters of `s` as bytes.
inline byte_view as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// Copies a view into an owned buffer.
inline byte_buffer to_buffer(byte_view v) {
  return byte_buffer(v.begin(), v.end());
}

}  // namespace netaio::inline v0
