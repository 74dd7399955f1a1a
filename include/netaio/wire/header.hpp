// The default header: 9 bytes, u8 type | u16 auth_length | u16 body_length | u32 crc32(body).
#pragma once

#include <netaio/wire/bytes.hpp>
#include <netaio/wire/detail/endian.hpp>
#include <netaio/wire/message_type.hpp>
#include <netaio/wire/wire_error.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace netaio::inline v0 {

/// The reference's Header, for message-type enum MT.
template <message_type_enum MT>
class basic_header {
 public:
  using message_type_t = MT;

  /// Encoded size in bytes.
  static constexpr std::size_t header_length() noexcept { return 9; }

  basic_header() = default;
  /// Throws wire_error(too_large) when a length passes 65535.
  basic_header(MT type, std::size_t auth_length, std::size_t body_length, std::uint32_t checksum)
      : type_(type) {
    set_lengths(auth_length, body_length, checksum);
  }

  MT message_type() const noexcept { return type_; }
  void set_message_type(MT t) noexcept { type_ = t; }
  std::uint16_t auth_length() const noexcept { return auth_length_; }
  std::uint16_t body_length() const noexcept { return body_length_; }
  std::uint32_t checksum() const noexcept { return checksum_; }
  /// Sets lengths and checksum; throws wire_error(too_large) past 65535.
  void set_lengths(std::size_t auth_length, std::size_t body_length, std::uint32_t checksum) {
    if (auth_length > 0xffff || body_length > 0xffff)
      throw wire_error(wire_errc::too_large,
                       "auth or body length " + std::to_string(std::max(auth_length, body_length)) +
                           " does not fit the header's u16");
    auth_length_ = static_cast<std::uint16_t>(auth_length);
    body_length_ = static_cast<std::uint16_t>(body_length);
    checksum_ = checksum;
  }

  /// Decodes the first 9 bytes of `data` (more are ignored, as by the reference).
  /// Throws wire_error: header_too_short, unknown_message_type.
  static basic_header decode(byte_view data) {
    if (data.size() < header_length())
      throw wire_error(wire_errc::header_too_short,
                       std::to_string(data.size()) + " bytes, a header has 9");
    if (!is_valid_message_type<MT>(data[0]))
      throw wire_error(wire_errc::unknown_message_type,
                       "message type " + std::to_string(data[0]) + " is not defined");
    basic_header h;
    h.type_ = static_cast<MT>(data[0]);
    h.auth_length_ = detail::load_be16(data.data() + 1);
    h.body_length_ = detail::load_be16(data.data() + 3);
    h.checksum_ = detail::load_be32(data.data() + 5);
    return h;
  }

  /// Writes the 9 bytes at `p`.
  void encode_into(std::uint8_t* p) const noexcept {
    p[0] = static_cast<std::uint8_t>(type_);
    detail::store_be16(p + 1, auth_length_);
    detail::store_be16(p + 3, body_length_);
    detail::store_be32(p + 5, checksum_);
  }
  /// Appends the 9 bytes to `out`.
  void encode_to(byte_buffer& out) const {
    const std::size_t at = out.size();
    out.resize(at + header_length());
    encode_into(out.data() + at);
  }
  byte_buffer encode() const {
    byte_buffer out;
    encode_to(out);
    return out;
  }

  friend bool operator==(const basic_header&, const basic_header&) = default;

 private:
  MT type_ = MT::request_uri;
  std::uint16_t auth_length_ = 0;
  std::uint16_t body_length_ = 0;
  std::uint32_t checksum_ = 0;
};

/// The default header.
using header = basic_header<message_type>;

}  // namespace netaio::inline v0
