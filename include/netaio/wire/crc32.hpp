// CRC-32 (zlib's, as Python's zlib.crc32) of a body.
#pragma once

#include <netaio/wire/bytes.hpp>

#include <zlib.h>

#include <climits>
#include <cstdint>

namespace netaio::inline v0 {

/// zlib's crc32 of `data`, continuing from `seed` (0 to start).
inline std::uint32_t crc32(byte_view data, std::uint32_t seed = 0) noexcept {
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

}  // namespace netaio::inline v0
