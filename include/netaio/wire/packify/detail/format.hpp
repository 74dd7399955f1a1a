// packify's format constants: a code byte is a length category (two high
// bits) and a type (six low bits); lengths use 1, 2 or 4 bytes by category.
#pragma once

#include <netaio/wire/bytes.hpp>
#include <netaio/wire/detail/endian.hpp>

#include <cstddef>
#include <cstdint>

namespace netaio::inline v0::packify::detail {

inline constexpr std::uint8_t type_none = 0;
inline constexpr std::uint8_t type_bytes = 1;
inline constexpr std::uint8_t type_bytearray = 2;
inline constexpr std::uint8_t type_str = 3;
inline constexpr std::uint8_t type_int = 4;
inline constexpr std::uint8_t type_neg_int = 5;
inline constexpr std::uint8_t type_bool = 6;
inline constexpr std::uint8_t type_float = 7;
inline constexpr std::uint8_t type_decimal = 8;
inline constexpr std::uint8_t type_list = 10;
inline constexpr std::uint8_t type_set = 11;
inline constexpr std::uint8_t type_tuple = 12;
inline constexpr std::uint8_t type_dict = 13;
inline constexpr std::uint8_t type_packable = 20;

inline constexpr std::uint8_t length_mask = 0xc0;
inline constexpr std::uint8_t type_mask = 0x3f;
/// CAT0 has no length field: it marks ints of 2^32 and more (a size byte follows).
inline constexpr std::uint8_t cat0 = 0x00;
inline constexpr std::uint8_t cat1 = 0x40;
inline constexpr std::uint8_t cat2 = 0x80;
inline constexpr std::uint8_t cat3 = 0xc0;

/// The category whose length field holds `n` (cat0 when none does).
constexpr std::uint8_t category_for(std::uint64_t n) noexcept {
  if (n < (1u << 8)) return cat1;
  if (n < (1u << 16)) return cat2;
  if (n < (std::uint64_t{1} << 32)) return cat3;
  return cat0;
}

/// Bytes in the length field of category `cat` (0 for cat0).
constexpr std::size_t width_of(std::uint8_t cat) noexcept {
  switch (cat & length_mask) {
    case cat1:
      return 1;
    case cat2:
      return 2;
    case cat3:
      return 4;
    default:
      return 0;
  }
}

inline void put_be(byte_buffer& out, std::uint64_t v, std::size_t width) {
  for (std::size_t i = width; i-- > 0;)
    out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

}  // namespace netaio::inline v0::packify::detail
