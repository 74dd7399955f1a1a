// The wire layer's error: one typed exception carrying a code.
#pragma once

#include <netaio/core/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace netaio::inline v0 {

/// What went wrong while encoding or decoding wire data.
enum class wire_errc : std::uint8_t {
  // packify
  truncated = 1,        ///< data ends before the value does
  trailing_bytes,       ///< bytes left where the format allows none
  unknown_type,         ///< type code packify does not define
  unsupported_type,     ///< a packify type this library cannot represent (Decimal, Packable)
  bad_length_category,  ///< a length category the type does not allow
  invalid_utf8,         ///< a str value that is not valid UTF-8
  unhashable,           ///< a set element or dict key Python could not hash
  bad_dict_item,        ///< a dict item that is not a (key, value) pair
  too_deep,             ///< nesting past the configured depth
  too_large,            ///< a value too large for the format
  wrong_kind,           ///< a value read as a kind it does not have
  bad_number,           ///< a malformed decimal integer
  // frames and messages
  header_too_short,      ///< fewer bytes than a header
  unknown_message_type,  ///< a message type the protocol's enum does not name
  lengths_past_frame,    ///< the header's lengths do not fit the frame
  frame_too_large,       ///< a frame larger than the configured maximum
  checksum_mismatch,     ///< crc32 of the body differs from the header's
  bad_auth_fields,       ///< auth section is not a packify dict of str to bytes
  uri_past_body,         ///< body shorter than its uri length says
  body_too_long,         ///< uri + content too long to prepare
};

/// A short, stable name for `c`.
constexpr std::string_view to_string(wire_errc c) noexcept {
  switch (c) {
    case wire_errc::truncated:
      return "truncated";
    case wire_errc::trailing_bytes:
      return "trailing bytes";
    case wire_errc::unknown_type:
      return "unknown packify type";
    case wire_errc::unsupported_type:
      return "unsupported packify type";
    case wire_errc::bad_length_category:
      return "bad length category";
    case wire_errc::invalid_utf8:
      return "invalid utf-8";
    case wire_errc::unhashable:
      return "unhashable key or set element";
    case wire_errc::bad_dict_item:
      return "bad dict item";
    case wire_errc::too_deep:
      return "nesting too deep";
    case wire_errc::too_large:
      return "value too large";
    case wire_errc::wrong_kind:
      return "wrong kind";
    case wire_errc::bad_number:
      return "bad number";
    case wire_errc::header_too_short:
      return "header too short";
    case wire_errc::unknown_message_type:
      return "unknown message type";
    case wire_errc::lengths_past_frame:
      return "lengths past frame";
    case wire_errc::frame_too_large:
      return "frame too large";
    case wire_errc::checksum_mismatch:
      return "checksum mismatch";
    case wire_errc::bad_auth_fields:
      return "bad auth fields";
    case wire_errc::uri_past_body:
      return "uri past body";
    case wire_errc::body_too_long:
      return "body too long";
  }
  return "unknown wire error";
}

/// Malformed, truncated or unrepresentable wire data; `code()` says which.
class wire_error : public error {
 public:
  wire_error(wire_errc code, std::string_view what)
      : error("netaio wire: " + std::string(to_string(code)) + ": " + std::string(what)),
        code_(code) {}
  explicit wire_error(wire_errc code)
      : error("netaio wire: " + std::string(to_string(code))), code_(code) {}
  wire_errc code() const noexcept { return code_; }

 private:
  wire_errc code_;
};

}  // namespace netaio::inline v0
