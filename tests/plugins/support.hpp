// Helpers for the plugins tests: hex, and the reference's vector file.
#pragma once

#include <netaio/wire/bytes.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace plugins_test {

inline netaio::byte_buffer unhex(std::string_view s) {
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument("bad hex digit");
  };
  if (s.size() % 2) throw std::invalid_argument("odd hex length");
  netaio::byte_buffer out;
  out.reserve(s.size() / 2);
  for (std::size_t i = 0; i < s.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(nib(s[i]) * 16 + nib(s[i + 1])));
  }
  return out;
}

template <class Bytes>
std::string hex(const Bytes& b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (std::uint8_t x : b) {
    s += digits[x >> 4];
    s += digits[x & 15];
  }
  return s;
}

inline netaio::byte_buffer bytes_of(std::string_view s) {
  return netaio::to_buffer(netaio::as_bytes(s));
}

/// The parsed vector file (loaded once).
inline const nlohmann::json& vectors() {
  static const nlohmann::json root = [] {
    std::ifstream f(NETAIO_TEST_VECTORS);
    if (!f) throw std::runtime_error("cannot open " NETAIO_TEST_VECTORS);
    return nlohmann::json::parse(f);
  }();
  return root;
}

}  // namespace plugins_test
