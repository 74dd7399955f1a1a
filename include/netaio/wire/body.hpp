// The default body: u16 uri_length | uri | content.
#pragma once

#include <netaio/wire/bytes.hpp>
#include <netaio/wire/crc32.hpp>
#include <netaio/wire/detail/endian.hpp>
#include <netaio/wire/wire_error.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace netaio::inline v0 {

/// A body's uri and content, viewed in place (in a receive buffer or a body).
struct body_ref {
  byte_view uri;
  byte_view content;
};

/// The room the reference keeps below 2^16 for a frame's header (9) and for IP
/// encapsulation and other known overhead (104).
inline constexpr std::size_t reserved_frame_overhead = 9 + 104;

/// The largest uri + content prepare() accepts, given `overhead` more bytes
/// (e.g. a cipher's): the reference requires uri + content < 2^16 - 113 - overhead.
constexpr std::size_t max_body_payload(std::size_t overhead = 0) noexcept {
  constexpr std::size_t room = 65536 - reserved_frame_overhead;
  return overhead >= room ? 0 : room - overhead - 1;
}

/// The reference's Body.
class body {
 public:
  body() = default;
  /// A body of `uri` and `content` (no size check: see prepare()).
  body(byte_buffer uri, byte_buffer content) : uri_(std::move(uri)), content_(std::move(content)) {}

  /// A body of `content` and `uri`; throws wire_error(body_too_long) when
  /// uri + content exceed max_body_payload(overhead), as the reference does.
  static body prepare(byte_view content, byte_view uri = {}, std::size_t overhead = 0) {
    if (content.size() + uri.size() > max_body_payload(overhead))
      throw wire_error(wire_errc::body_too_long,
                       "content + uri is " + std::to_string(content.size() + uri.size()) +
                           " bytes, at most " + std::to_string(max_body_payload(overhead)) +
                           " fit with overhead " + std::to_string(overhead));
    return body(to_buffer(uri), to_buffer(content));
  }

  const byte_buffer& uri() const noexcept { return uri_; }
  byte_buffer& uri() noexcept { return uri_; }
  const byte_buffer& content() const noexcept { return content_; }
  byte_buffer& content() noexcept { return content_; }
  std::size_t uri_length() const noexcept { return uri_.size(); }

  /// Views uri and content in encoded `data`; throws wire_error(uri_past_body)
  /// when data is shorter than its uri length field says.
  static body_ref parse(byte_view data) {
    if (data.size() < 2)
      throw wire_error(wire_errc::uri_past_body, "body has no room for its uri length");
    const std::size_t n = detail::load_be16(data.data());
    if (n > data.size() - 2)
      throw wire_error(wire_errc::uri_past_body, "uri length " + std::to_string(n) +
                                                     " but the body has " +
                                                     std::to_string(data.size() - 2) + " bytes");
    return {data.subspan(2, n), data.subspan(2 + n)};
  }
  static body decode(byte_view data) {
    const body_ref r = parse(data);
    return body(to_buffer(r.uri), to_buffer(r.content));
  }

  std::size_t encoded_size() const noexcept { return 2 + uri_.size() + content_.size(); }
  /// crc32 of the encoding, computed without building it (a message header's
  /// checksum); throws wire_error(too_large) as encode_to() does.
  std::uint32_t checksum() const {
    check_uri_length();
    std::uint8_t len[2];
    detail::store_be16(len, static_cast<std::uint16_t>(uri_.size()));
    return crc32(content_, crc32(uri_, crc32(byte_view(len))));
  }
  /// Appends the encoding; throws wire_error(too_large) for a uri past 65535 bytes.
  void encode_to(byte_buffer& out) const {
    check_uri_length();
    const std::size_t at = out.size();
    out.resize(at + 2);
    detail::store_be16(out.data() + at, static_cast<std::uint16_t>(uri_.size()));
    out.insert(out.end(), uri_.begin(), uri_.end());
    out.insert(out.end(), content_.begin(), content_.end());
  }
  byte_buffer encode() const {
    byte_buffer out;
    out.reserve(encoded_size());
    encode_to(out);
    return out;
  }

  friend bool operator==(const body&, const body&) = default;

 private:
  void check_uri_length() const {
    if (uri_.size() > 0xffff) throw wire_error(wire_errc::too_large, "uri longer than 65535");
  }

  byte_buffer uri_;
  byte_buffer content_;
};

}  // namespace netaio::inline v0
