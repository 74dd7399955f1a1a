// Parsing one frame in place: shared by the frame reader and message decode.
#pragma once

#include <netaio/wire/body.hpp>
#include <netaio/wire/bytes.hpp>
#include <netaio/wire/concepts.hpp>
#include <netaio/wire/crc32.hpp>
#include <netaio/wire/wire_error.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace netaio::inline v0 {

/// One frame parsed in place: views into the buffer it was parsed from.
template <header_type H>
struct basic_frame {
  H header{};
  byte_view auth;     ///< encoded auth fields (checked)
  byte_view body;     ///< encoded body
  byte_view uri;      ///< the body's uri
  byte_view content;  ///< the body's content
  byte_view bytes;    ///< the whole frame
  std::size_t size() const noexcept { return bytes.size(); }
};

namespace detail {

enum class frame_scan : std::uint8_t { complete, incomplete };

/// Parses the frame at the front of `buf`. Returns incomplete with `needed` set
/// (the frame's size once the header is in, else the header's) or complete with
/// `out` filled; throws wire_error for a malformed frame. Checks in the
/// reference's order: header (type), auth fields, body, checksum. When the
/// whole frame is in `buf` and it still fails (auth fields, body, checksum),
/// `needed` is its size on the throw too: its framing is intact, so a stream
/// can skip it; otherwise (bad header, too large) `needed` is left untouched.
template <header_type H, auth_fields_type A, body_type B>
frame_scan scan_frame(byte_view buf, std::size_t max_frame, basic_frame<H>& out,
                      std::size_t& needed) {
  const std::size_t hl = H::header_length();
  if (buf.size() < hl) {
    needed = hl;
    return frame_scan::incomplete;
  }
  const H h = H::decode(buf.first(hl));
  const std::size_t auth_len = h.auth_length();
  const std::size_t body_len = h.body_length();
  const std::size_t total = hl + auth_len + body_len;
  if (total > max_frame)
    throw wire_error(wire_errc::frame_too_large, "frame of " + std::to_string(total) +
                                                     " bytes, at most " +
                                                     std::to_string(max_frame) + " allowed");
  if (buf.size() < total) {
    needed = total;
    return frame_scan::incomplete;
  }
  const byte_view auth = buf.subspan(hl, auth_len);
  const byte_view body = buf.subspan(hl + auth_len, body_len);
  needed = total;
  A::validate(auth);
  const body_ref parts = B::parse(body);
  const std::uint32_t sum = crc32(body);
  if (sum != static_cast<std::uint32_t>(h.checksum()))
    throw wire_error(wire_errc::checksum_mismatch, "header says " + std::to_string(h.checksum()) +
                                                       ", body has " + std::to_string(sum));
  out.header = h;
  out.auth = auth;
  out.body = body;
  out.uri = parts.uri;
  out.content = parts.content;
  out.bytes = buf.first(total);
  return frame_scan::complete;
}

/// Parses `data` as exactly one frame (a datagram); throws wire_error, with
/// lengths_past_frame when the header's lengths disagree with the data's size.
template <header_type H, auth_fields_type A, body_type B>
basic_frame<H> parse_exact_frame(byte_view data) {
  basic_frame<H> f;
  std::size_t needed = 0;
  if (scan_frame<H, A, B>(data, SIZE_MAX, f, needed) == frame_scan::incomplete) {
    if (data.size() < H::header_length())
      throw wire_error(wire_errc::header_too_short,
                       std::to_string(data.size()) + " bytes is less than a header");
    throw wire_error(wire_errc::lengths_past_frame, "header announces " + std::to_string(needed) +
                                                        " bytes, frame has " +
                                                        std::to_string(data.size()));
  }
  if (f.size() != data.size())
    throw wire_error(wire_errc::trailing_bytes,
                     std::to_string(data.size() - f.size()) + " bytes after the frame");
  return f;
}

}  // namespace detail
}  // namespace netaio::inline v0
