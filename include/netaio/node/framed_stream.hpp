// framed_stream: whole netaio frames over a tcp_stream. Frames are parsed in
// place in a receive buffer that compacts and grows up to the largest frame
// allowed; a read that spans many packets resumes its task once; frames are
// written from one reused buffer, or gathered from several.
#pragma once

#include <netaio/io/error.hpp>
#include <netaio/io/tcp_stream.hpp>
#include <netaio/wire/bytes.hpp>
#include <netaio/wire/frame_reader.hpp>
#include <netaio/wire/protocol.hpp>
#include <netaio/wire/wire_error.hpp>

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <utility>

namespace netaio::inline v0 {

/// How a framed stream's read_frame() ended.
enum class frame_read_status : std::uint8_t {
  frame,          ///< a whole, valid frame
  malformed,      ///< a bad frame: see error, and skipped() for whether reading goes on
  end_of_stream,  ///< the peer closed the stream between frames
  truncated,      ///< the peer closed the stream in the middle of a frame
  closed,         ///< this side closed the stream, before or during the read
};

/// What read_frame() gives.
template <protocol_policy P = default_protocol>
struct basic_frame_read {
  frame_read_status status = frame_read_status::end_of_stream;
  /// frame: the frame, viewing the stream's receive buffer; valid until the
  /// next read_frame() (or the stream's destruction).
  basic_frame<typename P::header_t> frame{};
  /// malformed: why, and a static description (no allocation).
  wire_errc error{};
  const char* what = "";
  /// frame: its size. malformed: the bytes skipped, 0 if the frame could not
  /// be delimited. truncated: the bytes of the unfinished frame received.
  std::size_t size = 0;

  explicit operator bool() const noexcept { return status == frame_read_status::frame; }
  /// A malformed frame that was skipped: the next read_frame() reads the
  /// frame after it (the reference answers "invalid message" and goes on).
  /// A malformed frame that was not (unknown type, too large) ends the read
  /// side: every later read_frame() gives it again; close the connection.
  bool skipped() const noexcept { return status == frame_read_status::malformed && size != 0; }
  /// The frame as an owned message (status frame only).
  typename P::message_t to_message() const { return P::message_t::from_frame(frame); }
};

/// Limits of a framed stream.
struct framed_stream_options {
  /// Larger frames are malformed (frame_too_large), found from the header
  /// alone. The receive buffer never grows past max(this, initial_buffer).
  std::size_t max_frame_size = max_default_frame_size;
  /// The receive buffer's first size (allocated at the first read); it
  /// doubles when a frame needs more.
  std::size_t initial_buffer = 16 * 1024;
};

/// Frames of protocol P over a tcp_stream it owns. One read_frame() and one
/// write at a time (as for the stream); not to be moved or destroyed while
/// one is pending. Once its buffer has grown to the frames it sees, reading
/// allocates nothing per frame.
template <protocol_policy P = default_protocol>
class basic_framed_stream {
 public:
  using message_t = typename P::message_t;
  using read_result = basic_frame_read<P>;

  basic_framed_stream() = default;
  explicit basic_framed_stream(tcp_stream stream, framed_stream_options options = {})
      : stream_(std::move(stream)),
        reader_(options.max_frame_size),
        initial_(std::max<std::size_t>(options.initial_buffer, 1)),
        bound_(std::max(options.max_frame_size, initial_)) {}
  basic_framed_stream(basic_framed_stream&&) noexcept = default;
  basic_framed_stream& operator=(basic_framed_stream&&) noexcept = default;

  class read_awaiter;
  class write_awaiter;

  /// The next frame, a malformed one (skipped when it can be), the end of
  /// the stream, or `closed` when this side closed it (frames received
  /// before are handed out first). Throws operation_cancelled (nothing
  /// received is lost: the next read_frame() starts with it) and io_error
  /// (reset, ...).
  read_awaiter read_frame() noexcept { return read_awaiter(*this); }

  /// Encodes `m` (lengths and checksum computed; `m` unchanged) into the
  /// stream's write buffer and writes it. Throws wire_error at once if `m`
  /// cannot be encoded, io_error(operation_pending) if a write is pending.
  /// A cancelled write has sent an unknown prefix: close the stream.
  write_awaiter write_frame(const message_t& m) {
    return encode_and_write(std::span<const message_t>(&m, 1));
  }
  /// Encodes every message of `ms` into one buffer and writes it at once.
  write_awaiter write_frames(std::span<const message_t> ms) { return encode_and_write(ms); }
  /// Writes frames already encoded, gathered (one sendmsg where possible).
  /// `frames` and what it views must stay alive until the write completes.
  detail::write_all_awaiter write_encoded(std::span<const byte_view> frames) noexcept {
    return stream_.write_all(frames);
  }

  /// Writes what fits of encoded frames now (see tcp_stream::try_write).
  std::size_t try_write_encoded(std::span<const byte_view> frames) {
    return stream_.try_write(frames);
  }

  tcp_stream& stream() noexcept { return stream_; }
  const tcp_stream& stream() const noexcept { return stream_; }
  /// Closes the stream; pending operations end with io_error(closed).
  void close() noexcept { stream_.close(); }
  bool is_open() const noexcept { return stream_.is_open(); }

  /// Bytes received and not yet handed out as (or skipped with) a frame.
  std::size_t buffered() const noexcept { return end_ - begin_ - handed_; }
  /// The receive buffer's size now.
  std::size_t buffer_capacity() const noexcept { return cap_; }
  std::size_t max_frame_size() const noexcept { return reader_.max_frame_size(); }

 private:
  /// What read_into fills: forwards to the stream (a member, so it cannot
  /// name private members from the sink concept's context).
  struct sink {
    basic_framed_stream* self = nullptr;
    std::span<std::uint8_t> prepare() noexcept { return self->prepare(); }
    bool commit(std::size_t n) noexcept { return self->commit(n); }
  };

  /// Drops the frame handed out last; true when the buffer already decides
  /// the result (no read needed).
  bool start_read() noexcept {
    decided_ = false;
    begin_ += handed_;
    handed_ = 0;
    if (begin_ == end_) begin_ = end_ = 0;  // the cheap compaction, most of the time
    return settle();
  }

  byte_view unparsed() const noexcept {
    if (!buf_) return {};  // before the first read
    return {buf_.get() + begin_, end_ - begin_};
  }

  /// Parses the front of the buffer; true when result_ is decided.
  bool settle() noexcept {
    if (poisoned_) return true;  // result_ keeps the frame that poisoned the stream
    const auto r = reader_.parse(unparsed());
    switch (r.status) {
      case frame_status::complete:
        result_ = {frame_read_status::frame, r.frame, {}, "", r.needed};
        handed_ = r.needed;
        return true;
      case frame_status::malformed:
        result_ = {frame_read_status::malformed, {}, r.error, r.what, r.needed};
        if (r.skippable()) {
          begin_ += r.needed;
        } else {
          poisoned_ = true;
        }
        return true;
      case frame_status::incomplete:
        break;
    }
    needed_ = r.needed;
    if (!eof_) return false;
    const std::size_t have = end_ - begin_;
    result_ = {have == 0 ? frame_read_status::end_of_stream : frame_read_status::truncated,
               {},
               {},
               "",
               have};
    return true;
  }

  /// Room for the frame at the front to arrive: compacts or grows first
  /// when it would not fit. Empty (and alloc_failed_) if growing failed.
  std::span<std::uint8_t> prepare() noexcept {
    const std::size_t have = end_ - begin_;
    const std::size_t want = std::max(needed_, have + 1);  // needed_ <= max frame: parse checked
    if (cap_ < want) {
      if (!grow(want)) return {};
    } else if (begin_ > 0 && (begin_ + want > cap_ || cap_ - end_ < cap_ / 4)) {
      // Move the partial frame to the front: less than one frame is copied,
      // and reads stay large.
      std::memmove(buf_.get(), buf_.get() + begin_, have);
      begin_ = 0;
      end_ = have;
    }
    return {buf_.get() + end_, cap_ - end_};
  }

  bool grow(std::size_t want) noexcept {
    const std::size_t have = end_ - begin_;
    const std::size_t cap = std::min(std::max({want, cap_ * 2, initial_}), std::max(bound_, want));
    try {
      auto bigger = std::make_unique_for_overwrite<std::uint8_t[]>(cap);
      if (have > 0) std::memcpy(bigger.get(), buf_.get() + begin_, have);
      buf_ = std::move(bigger);
    } catch (...) {
      alloc_failed_ = true;
      return false;
    }
    cap_ = cap;
    begin_ = 0;
    end_ = have;
    return true;
  }

  bool commit(std::size_t n) noexcept {
    if (n == 0) eof_ = true;
    end_ += n;
    decided_ = settle();
    return decided_;
  }

  const read_result& finish_read() {
    if (alloc_failed_) {
      alloc_failed_ = false;
      throw std::bad_alloc();
    }
    return result_;
  }

  write_awaiter encode_and_write(std::span<const message_t> ms) {
    if (writing_) {
      throw io_error(io_errc::operation_pending,
                     "netaio: write_frame: another frame write to this stream is pending");
    }
    wbuf_.clear();
    try {
      for (const message_t& m : ms)
        m.encode_to(wbuf_);
    } catch (...) {
      wbuf_.clear();
      throw;
    }
    writing_ = true;
    return write_awaiter(stream_.write_all(std::span<const std::uint8_t>(wbuf_)), writing_);
  }

  tcp_stream stream_;
  basic_frame_reader<P> reader_{};
  std::size_t initial_ = framed_stream_options{}.initial_buffer;
  std::size_t bound_ = max_default_frame_size;
  std::unique_ptr<std::uint8_t[]> buf_;
  std::size_t cap_ = 0;
  std::size_t begin_ = 0;   // the first byte not yet handed out or skipped
  std::size_t end_ = 0;     // one past the last byte received
  std::size_t handed_ = 0;  // the frame handed out last, dropped at the next read
  std::size_t needed_ = 0;  // what the frame at the front needs, from the last parse
  read_result result_{};
  bool poisoned_ = false;  // result_ is a malformed frame that cannot be skipped
  bool eof_ = false;
  bool alloc_failed_ = false;
  bool decided_ = false;  // this read's bytes decided result_ (before a close's report)
  bool writing_ = false;
  sink sink_{};
  byte_buffer wbuf_;
};

/// co_await read_frame(): no suspension when the buffer already holds the
/// answer; otherwise one read_into that resumes the task once.
template <protocol_policy P>
class basic_framed_stream<P>::read_awaiter {
 public:
  explicit read_awaiter(basic_framed_stream& s) noexcept : s_(&s) {}

  bool await_ready() noexcept { return s_->start_read(); }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) noexcept {
    s_->sink_.self = s_;  // the stream may have moved since the last read
    inner_.emplace(s_->stream_.read_into(s_->sink_));
    return inner_->await_suspend(h);
  }
  /// The stream's own record of this read (its frame views the receive
  /// buffer): valid until the next read_frame().
  const read_result& await_resume() {
    if (inner_) {
      // A local close is how a stop ends many receive loops: a status, not
      // one exception per connection (its unwinding was a tenth of a stop).
      if (inner_->ended_by_close()) {
        // A completion backend (io_uring, IOCP) may have delivered bytes
        // with the close's report: a frame they finish goes first.
        if (!s_->decided_) s_->result_ = {frame_read_status::closed, {}, {}, "", 0};
        return s_->result_;
      }
      inner_->await_resume();  // cancellation, io errors: bytes stay buffered
    }
    return s_->finish_read();
  }

 private:
  basic_framed_stream* s_;
  std::optional<detail::read_into_awaiter<sink>> inner_;
};

/// co_await write_frame(m): the stream's write, releasing its buffer after.
template <protocol_policy P>
class basic_framed_stream<P>::write_awaiter {
 public:
  write_awaiter(detail::write_all_awaiter inner, bool& writing) noexcept
      : inner_(std::move(inner)), writing_(&writing) {}
  write_awaiter(write_awaiter&& other) noexcept
      : inner_(std::move(other.inner_)), writing_(std::exchange(other.writing_, nullptr)) {}
  write_awaiter& operator=(write_awaiter&&) = delete;
  ~write_awaiter() { release(); }

  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) noexcept {
    return inner_.await_suspend(h);
  }
  void await_resume() {
    release();
    inner_.await_resume();
  }

 private:
  void release() noexcept {
    if (writing_ != nullptr) *std::exchange(writing_, nullptr) = false;
  }

  detail::write_all_awaiter inner_;
  bool* writing_;
};

/// The default protocol's framed stream.
using framed_stream = basic_framed_stream<>;
/// The default protocol's read_frame() result.
using frame_read = basic_frame_read<>;

}  // namespace netaio::inline v0
