// CRC-32 (zlib's, as Python's zlib.crc32) of a body.
#pragma once

#include <netaio/wire/bytes.hpp>

#include <zlib.h>

#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>

namespace netaio::inline v0 {

namespace detail {

/// Below this many bytes crc32 uses its own tables, from here zlib's. Most
/// messages are short, and zlib 1.2.13 (Debian 12) takes 1.5-2.2 ns a byte
/// under 256 bytes (7 instructions a byte: a seventh of all a UDP node runs
/// per datagram) where slicing-by-8 takes 0.6; zlib's braided loop wins
/// from about 300 bytes on (0.18 ns a byte at 4 KiB). Measured 2026-12-03,
/// docs/benchmarks.md.
inline constexpr std::size_t crc32_table_limit = 256;

// Slicing-by-8 tables for the reflected polynomial 0xEDB88320: table k maps
// a byte to its CRC contribution k bytes further on.
using crc32_table_set = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr crc32_table_set make_crc32_tables() noexcept {
  crc32_table_set t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1u) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[0][i] = c;
  }
  for (std::size_t s = 1; s < 8; ++s)
    for (std::size_t i = 0; i < 256; ++i)
      t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xffu];
  return t;
}

inline constexpr crc32_table_set crc32_tables = make_crc32_tables();

constexpr std::uint32_t load_le32(const std::uint8_t* p) noexcept {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
         std::uint32_t{p[3]} << 24;
}

/// The table-driven crc32 (any length; used for short ones).
constexpr std::uint32_t crc32_sliced(byte_view data, std::uint32_t seed) noexcept {
  const auto& t = crc32_tables;
  std::uint32_t c = ~seed;
  const std::uint8_t* p = data.data();
  std::size_t n = data.size();
  for (; n >= 8; p += 8, n -= 8) {
    const std::uint32_t lo = c ^ load_le32(p);
    const std::uint32_t hi = load_le32(p + 4);
    c = t[7][lo & 0xffu] ^ t[6][(lo >> 8) & 0xffu] ^ t[5][(lo >> 16) & 0xffu] ^ t[4][lo >> 24] ^
        t[3][hi & 0xffu] ^ t[2][(hi >> 8) & 0xffu] ^ t[1][(hi >> 16) & 0xffu] ^ t[0][hi >> 24];
  }
  for (; n > 0; ++p, --n)
    c = t[0][(c ^ *p) & 0xffu] ^ (c >> 8);
  return ~c;
}

/// zlib's crc32 (any length; used for long ones).
inline std::uint32_t crc32_zlib(byte_view data, std::uint32_t seed) noexcept {
  uLong c = seed;
  const Bytef* p = data.data();
  std::size_t n = data.size();
  // zlib takes uInt lengths; feed huge inputs in pieces.
  while (n > 0) {
    const uInt chunk = n > UINT_MAX ? UINT_MAX : static_cast<uInt>(n);
    c = ::crc32(c, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return static_cast<std::uint32_t>(c);
}

}  // namespace detail

/// zlib's crc32 of `data`, continuing from `seed` (0 to start).
inline std::uint32_t crc32(byte_view data, std::uint32_t seed = 0) noexcept {
  return data.size() < detail::crc32_table_limit ? detail::crc32_sliced(data, seed)
                                                 : detail::crc32_zlib(data, seed);
}

}  // namespace netaio::inline v0
