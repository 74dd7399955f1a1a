// The incremental frame reader: parses frames in place at the front of a
// receive buffer. No allocation per frame; never throws for bad input.
#pragma once

#include <netaio/wire/bytes.hpp>
#include <netaio/wire/detail/frame_parse.hpp>
#include <netaio/wire/protocol.hpp>
#include <netaio/wire/wire_error.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace netaio::inline v0 {

/// What parsing the front of a buffer found.
enum class frame_status : std::uint8_t {
  complete,    ///< a whole, valid frame: see frame
  incomplete,  ///< more bytes needed: see needed
  malformed,   ///< a bad frame: see error, and needed for whether it can be skipped
};

/// The outcome of basic_frame_reader::parse.
template <protocol_policy P>
struct frame_result {
  frame_status status = frame_status::incomplete;
  /// complete: the frame's size (bytes to consume). incomplete: bytes the
  /// buffer must hold before parsing again (the frame's size once its header
  /// is in, else the header's size). malformed: the bad frame's size when its
  /// framing is intact (checksum mismatch, bad auth fields, uri past body):
  /// consume that many bytes and the next frame follows, as the reference
  /// answers "invalid message" and keeps reading; 0 when the frame's extent
  /// cannot be trusted or is past the limit (unknown message type, frame too
  /// large): the stream cannot be resynchronised.
  std::size_t needed = 0;
  /// malformed: why.
  wire_errc error{};
  /// malformed: what the check said (a static string; no allocation).
  const char* what = "";
  /// complete: the frame, viewing the parsed buffer.
  basic_frame<typename P::header_t> frame{};

  explicit operator bool() const noexcept { return status == frame_status::complete; }
  /// A malformed frame whose size is known: consume `needed` bytes to go on.
  bool skippable() const noexcept { return status == frame_status::malformed && needed != 0; }
  /// Throws wire_error when malformed.
  void throw_if_malformed() const {
    if (status == frame_status::malformed) throw wire_error(error, what);
  }
  /// The frame as an owned message (complete results only).
  typename P::message_t to_message() const { return P::message_t::from_frame(frame); }
};

/// Largest frame the default header can describe.
inline constexpr std::size_t max_default_frame_size = 9 + 0xffff + 0xffff;

/// Parses frames of protocol P from the front of a receive buffer.
template <protocol_policy P = default_protocol>
class basic_frame_reader {
 public:
  using frame_t = basic_frame<typename P::header_t>;
  using result_t = frame_result<P>;

  /// Frames larger than `max_frame_size` are malformed (frame_too_large).
  explicit basic_frame_reader(std::size_t max_frame_size = max_default_frame_size) noexcept
      : max_frame_size_(max_frame_size) {}

  std::size_t max_frame_size() const noexcept { return max_frame_size_; }

  /// Parses the frame at the front of `buffer`. A complete frame's views point
  /// into `buffer`: consume result.needed bytes once done with it (and so for
  /// a skippable() malformed one).
  result_t parse(byte_view buffer) const noexcept {
    result_t r;
    try {
      const auto s =
          detail::scan_frame<typename P::header_t, typename P::auth_fields_t, typename P::body_t>(
              buffer, max_frame_size_, r.frame, r.needed);
      r.status =
          s == detail::frame_scan::complete ? frame_status::complete : frame_status::incomplete;
    } catch (const wire_error& e) {
      r.status = frame_status::malformed;
      r.error = e.code();
      r.what = static_what(e.code());
      r.frame = frame_t{};
    } catch (...) {
      // A custom header/body threw something else (e.g. bad_alloc): report, never escape.
      r.status = frame_status::malformed;
      r.error = wire_errc::too_large;
      r.what = "unexpected exception while parsing a frame";
      r.frame = frame_t{};
      r.needed = 0;  // not the frame's fault: nothing says it may be skipped
    }
    return r;
  }

 private:
  static const char* static_what(wire_errc c) noexcept { return to_string(c).data(); }

  std::size_t max_frame_size_;
};

/// The default protocol's frame reader.
using frame_reader = basic_frame_reader<>;

}  // namespace netaio::inline v0
