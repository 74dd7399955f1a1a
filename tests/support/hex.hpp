// Hex text <-> bytes, for tests and the conformance runner (the vectors
// store bytes as lowercase hex).
#pragma once

#include <netaio/wire/bytes.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace test {

/// Bytes of a hex string; throws std::invalid_argument on bad input.
inline netaio::byte_buffer from_hex(std::string_view s) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument("bad hex digit");
  };
  if (s.size() % 2 != 0) throw std::invalid_argument("odd hex length");
  netaio::byte_buffer out;
  out.reserve(s.size() / 2);
  for (std::size_t i = 0; i < s.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(nibble(s[i]) * 16 + nibble(s[i + 1])));
  }
  return out;
}

/// Lowercase hex of any range of bytes.
template <class Bytes>
std::string to_hex(const Bytes& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (std::uint8_t b : bytes) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

}  // namespace test
