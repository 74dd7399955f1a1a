// packify's integers: arbitrary precision as sign and big-endian magnitude.
#pragma once

#include <netaio/wire/bytes.hpp>
#include <netaio/wire/wire_error.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace netaio::inline v0::packify {

/// An integer of any size packify can carry (magnitude up to 255 bytes).
/// Invariant: `magnitude` has no leading zero bytes; zero is empty and never negative.
struct big_int {
  bool negative = false;
  byte_buffer magnitude;

  /// The integer `v`.
  static big_int from_int(std::int64_t v) {
    const std::uint64_t mag =
        v < 0 ? ~static_cast<std::uint64_t>(v) + 1 : static_cast<std::uint64_t>(v);
    big_int r = from_uint(mag);
    r.negative = v < 0;
    return r;
  }
  /// The integer `v`.
  static big_int from_uint(std::uint64_t v) {
    big_int r;
    for (int shift = 56; shift >= 0; shift -= 8) {
      const auto b = static_cast<std::uint8_t>(v >> shift);
      if (b != 0 || !r.magnitude.empty()) r.magnitude.push_back(b);
    }
    return r;
  }
  /// From sign and big-endian magnitude (leading zeros allowed; they are dropped).
  static big_int from_magnitude(bool negative, byte_view mag) {
    std::size_t i = 0;
    while (i < mag.size() && mag[i] == 0)
      ++i;
    big_int r;
    r.magnitude.assign(mag.begin() + static_cast<std::ptrdiff_t>(i), mag.end());
    r.negative = negative && !r.magnitude.empty();
    return r;
  }
  /// Parses an optional '-' and decimal digits; throws wire_error(bad_number).
  static big_int from_decimal(std::string_view s) {
    big_int r;
    bool neg = false;
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
      neg = s.front() == '-';
      s.remove_prefix(1);
    }
    if (s.empty()) throw wire_error(wire_errc::bad_number, "no digits");
    for (char ch : s) {
      if (ch < '0' || ch > '9') throw wire_error(wire_errc::bad_number, "not a decimal digit");
      unsigned carry = static_cast<unsigned>(ch - '0');
      for (auto it = r.magnitude.rbegin(); it != r.magnitude.rend(); ++it) {
        const unsigned x = static_cast<unsigned>(*it) * 10u + carry;
        *it = static_cast<std::uint8_t>(x & 0xffu);
        carry = x >> 8;
      }
      while (carry != 0) {
        r.magnitude.insert(r.magnitude.begin(), static_cast<std::uint8_t>(carry & 0xffu));
        carry >>= 8;
      }
      if (r.magnitude.size() == 1 && r.magnitude[0] == 0) r.magnitude.clear();
    }
    r.negative = neg && !r.magnitude.empty();
    return r;
  }
  /// Decimal text, with '-' when negative.
  std::string to_decimal() const {
    if (magnitude.empty()) return "0";
    byte_buffer m = magnitude;
    std::string digits;
    std::size_t start = 0;
    while (start < m.size()) {
      unsigned rem = 0;
      for (std::size_t i = start; i < m.size(); ++i) {
        const unsigned x = (rem << 8) | m[i];
        m[i] = static_cast<std::uint8_t>(x / 10u);
        rem = x % 10u;
      }
      digits.push_back(static_cast<char>('0' + rem));
      while (start < m.size() && m[start] == 0)
        ++start;
    }
    if (negative) digits.push_back('-');
    return std::string(digits.rbegin(), digits.rend());
  }
  /// The value as int64, or nullopt when it does not fit.
  std::optional<std::int64_t> to_int64() const noexcept {
    if (magnitude.size() > 8) return std::nullopt;
    std::uint64_t m = 0;
    for (auto b : magnitude)
      m = (m << 8) | b;
    if (!negative) {
      if (m > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
      return static_cast<std::int64_t>(m);
    }
    if (m > static_cast<std::uint64_t>(INT64_MAX) + 1) return std::nullopt;
    return m == static_cast<std::uint64_t>(INT64_MAX) + 1 ? INT64_MIN
                                                          : -static_cast<std::int64_t>(m);
  }
  /// The value as uint64, or nullopt when negative or too large.
  std::optional<std::uint64_t> to_uint64() const noexcept {
    if (negative || magnitude.size() > 8) return std::nullopt;
    std::uint64_t m = 0;
    for (auto b : magnitude)
      m = (m << 8) | b;
    return m;
  }
  bool is_zero() const noexcept { return magnitude.empty(); }

  friend bool operator==(const big_int&, const big_int&) = default;
};

}  // namespace netaio::inline v0::packify
