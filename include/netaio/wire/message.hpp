// Messages: header, auth fields and body, with the reference's prepare,
// encode (which fills lengths and checksum), decode, check and copy.
#pragma once

#include <netaio/wire/auth_fields.hpp>
#include <netaio/wire/body.hpp>
#include <netaio/wire/bytes.hpp>
#include <netaio/wire/concepts.hpp>
#include <netaio/wire/crc32.hpp>
#include <netaio/wire/detail/frame_parse.hpp>
#include <netaio/wire/header.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace netaio::inline v0 {

/// The reference's Message for header H, auth fields A and body B.
template <header_type H, auth_fields_type A, body_type B>
class basic_message {
 public:
  using header_t = H;
  using auth_fields_t = A;
  using body_t = B;
  using message_type_t = typename H::message_type_t;

  basic_message() = default;
  basic_message(H header, A auth_data, B body)
      : header_(std::move(header)), auth_(std::move(auth_data)), body_(std::move(body)) {}
  basic_message(const basic_message&) = default;
  // Assignment leaves the checksum to be computed again: a reference taken
  // into this message before (body(), ...) now reaches the assigned parts.
  basic_message& operator=(const basic_message& o) {
    header_ = o.header_;
    auth_ = o.auth_;
    body_ = o.body_;
    current_ = false;
    return *this;
  }
  // A moved-from message's header no longer describes its (emptied) parts.
  basic_message(basic_message&& o) noexcept(
      std::is_nothrow_move_constructible_v<H>&& std::is_nothrow_move_constructible_v<A>&&
          std::is_nothrow_move_constructible_v<B>)
      : header_(std::move(o.header_)),
        auth_(std::move(o.auth_)),
        body_(std::move(o.body_)),
        current_(std::exchange(o.current_, false)) {}
  basic_message& operator=(basic_message&& o) noexcept(
      std::is_nothrow_move_assignable_v<H>&& std::is_nothrow_move_assignable_v<A>&&
          std::is_nothrow_move_assignable_v<B>) {
    header_ = std::move(o.header_);
    auth_ = std::move(o.auth_);
    body_ = std::move(o.body_);
    current_ = false;
    o.current_ = false;
    return *this;
  }

  /// A message of `body`, with lengths and checksum filled in.
  static basic_message prepare(B body, message_type_t type, A auth_data = A{}) {
    H h(type, auth_size(auth_data), body_size(body), body_checksum(body));
    basic_message m(std::move(h), std::move(auth_data), std::move(body));
    m.current_ = true;
    return m;
  }

  const H& header() const noexcept { return header_; }
  /// (Any non-const access makes the next encode recompute the lengths and
  /// checksum: the caller may change the part it holds.)
  H& header() noexcept {
    current_ = false;
    return header_;
  }
  const A& auth_data() const noexcept { return auth_; }
  A& auth_data() noexcept {
    current_ = false;
    return auth_;
  }
  const B& body() const noexcept { return body_; }
  B& body() noexcept {
    current_ = false;
    return body_;
  }
  message_type_t type() const noexcept { return header_.message_type(); }

  /// The header's checksum matches the body.
  bool check() const {
    return static_cast<std::uint32_t>(header_.checksum()) == body_checksum(body_);
  }

  /// Appends the frame to `out`, first setting the header's lengths and
  /// checksum (as the reference's encode does).
  void encode_to(byte_buffer& out) { header_ = encode_with(header_, out); }
  /// Appends the frame to `out` with the lengths and checksum it needs,
  /// leaving this message's header as it is.
  void encode_to(byte_buffer& out) const { (void)encode_with(header_, out); }
  /// The frame, after setting the header's lengths and checksum.
  byte_buffer encode() {
    byte_buffer out;
    encode_to(out);
    return out;
  }
  /// The frame, with the lengths and checksum it needs.
  byte_buffer encode() const {
    byte_buffer out;
    encode_to(out);
    return out;
  }

  /// Decodes exactly one frame; throws wire_error (checksum_mismatch, ...).
  static basic_message decode(byte_view data) {
    return from_frame(detail::parse_exact_frame<H, A, B>(data));
  }
  /// An owned message from a frame parsed in place.
  static basic_message from_frame(const basic_frame<H>& f) {
    return basic_message(f.header, A::decode(f.auth), B::decode(f.body));
  }

  /// A deep copy made as the reference makes it: decode(encode()).
  basic_message copy() const { return decode(encode()); }

  friend bool operator==(const basic_message& a, const basic_message& b) {
    return a.header_ == b.header_ && a.auth_ == b.auth_ && a.body_ == b.body_;
  }

 private:
  /// Appends the frame with header `h` given the right lengths and checksum,
  /// and returns that header. If it throws (a section too long for the
  /// header), `out` is as it was: a caller batching frames keeps the others.
  H encode_with(H h, byte_buffer& out) const {
    const std::size_t start = out.size();
    try {
      // One allocation at most, when the sections can tell their sizes.
      if constexpr (sized<A> && sized<B>)
        out.reserve(start + H::header_length() + auth_size(auth_) + body_size(body_));
      out.resize(start + H::header_length());
      auth_.encode_to(out);
      const std::size_t body_at = out.size();
      body_.encode_to(out);
      // The checksum prepare() computed is still right while nothing was
      // reachable for change since (a sixth of a round trip's checksums).
      if (!(current_ && trusts_prepare)) {
        const byte_view b(out.data() + body_at, out.size() - body_at);
        h.set_lengths(body_at - start - H::header_length(), b.size(), crc32(b));
      }
      if constexpr (requires(std::uint8_t * p) { h.encode_into(p); }) {
        h.encode_into(out.data() + start);
      } else {
        // Encoded past the end, then moved into place: no temporary buffer,
        // so a reused `out` costs no allocation per frame.
        const std::size_t end = out.size();
        h.encode_to(out);
        std::copy(out.begin() + static_cast<std::ptrdiff_t>(end), out.end(),
                  out.begin() + static_cast<std::ptrdiff_t>(start));
        out.resize(end);
      }
    } catch (...) {
      out.resize(start);
      throw;
    }
    return h;
  }

  // Only the library's own parts are known to have value semantics (a
  // change can come only through a non-const accessor) and sizes and a
  // checksum that match their encoding; custom parts are measured at
  // every encode, as before prepare() kept its result.
  static constexpr bool trusts_prepare =
      std::is_same_v<A, netaio::auth_fields> && std::is_same_v<B, netaio::body>;

  // Sizes and checksum without encoding, for the types that offer them
  // (the default ones); other types are encoded to find out.
  template <class T>
  static constexpr bool sized = requires(const T& t) {
    { t.encoded_size() } -> std::convertible_to<std::size_t>;
  };
  static std::size_t auth_size(const A& a) {
    if constexpr (sized<A>) {
      return a.encoded_size();
    } else {
      return a.encode().size();
    }
  }
  static std::size_t body_size(const B& b) {
    if constexpr (sized<B>) {
      return b.encoded_size();
    } else {
      return b.encode().size();
    }
  }
  static std::uint32_t body_checksum(const B& b) {
    if constexpr (requires {
                    { b.checksum() } -> std::same_as<std::uint32_t>;
                  }) {
      return b.checksum();
    } else {
      return crc32(b.encode());
    }
  }

  H header_{};
  A auth_{};
  B body_{};
  // header_'s lengths and checksum are those of auth_ and body_ as they
  // are: set by prepare(), cleared by every non-const accessor.
  bool current_ = false;
};

/// The default message.
using message = basic_message<header, auth_fields, body>;

static_assert(message_protocol<message>);

}  // namespace netaio::inline v0
