// A stream read driven by a sink that decides when it has enough: the
// syscall loop of a framing layer, run on each readiness edge inside the
// reactor, so a frame that arrives in many pieces resumes its task once and
// no coroutine frame is made per frame.
#pragma once

#include <netaio/io/detail/stream_ops.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>

namespace netaio::inline v0::detail {

/// Where read_into puts bytes. prepare(): room for the next read (empty:
/// stop now; the sink knows why). commit(n): n bytes were written at the
/// start of that room (0: end of stream); true to stop. Neither may throw:
/// they run inside the reactor.
template <class S>
concept read_sink = requires(S& s, std::size_t n) {
  { s.prepare() }
  noexcept->std::same_as<std::span<std::uint8_t>>;
  { s.commit(n) }
  noexcept->std::same_as<bool>;
};

/// Reads into a sink until it says stop, end of stream, or an error. Bytes
/// committed belong to the sink at once, so a cancelled read loses none.
template <read_sink S>
class read_into_awaiter : public reactor_awaiter<read_into_awaiter<S>, direction::read> {
  using base = reactor_awaiter<read_into_awaiter<S>, direction::read>;

 public:
  read_into_awaiter(stream_core& s, S& sink) noexcept
      : base(s.handle.state()), core_(&s), sink_(&sink) {}

#if !NETAIO_HAS_IOCP  // readiness only (POSIX calls)
  static bool perform(reactor_op* op) noexcept {
    auto* self = static_cast<read_into_awaiter*>(op);
    fd_state& s = *self->state_;
    for (;;) {
      const std::span<std::uint8_t> room = self->sink_->prepare();
      if (room.empty()) return true;
      if (self->core_->has_unread()) {  // left by a cancelled read_exact: first in line
        const std::size_t n = self->core_->take_unread(room.data(), room.size());
        if (self->sink_->commit(n)) return true;
        continue;
      }
      if (!s.readable) return false;  // drained since the last edge: wait for the next
      const ssize_t r = retry_eintr([&] { return ::recv(s.fd, room.data(), room.size(), 0); });
      if (r > 0) {
        const auto n = static_cast<std::size_t>(r);
        if (n < room.size()) s.drained_read();  // a short read emptied the receive queue
        if (self->sink_->commit(n)) return true;
      } else if (r == 0) {
        (void)self->sink_->commit(0);
        return true;
      } else if (would_block(errno)) {
        s.drained_read();
        return false;
      } else {
        self->error_ = errno;
        return true;
      }
    }
  }
#endif

  static constexpr bool has_completion_path = true;
  template <class B>
  static bool start(reactor_op* op) noexcept {
    return static_cast<read_into_awaiter*>(op)->template receive_next<B>();
  }
  template <class B>
  static bool finish(reactor_op* op) noexcept {
    auto* self = static_cast<read_into_awaiter*>(op);
    const int res = op->res_;
    if (res < 0) {
      self->note_error(res);
      return true;
    }
    // Committed even when cancelled: the bytes are the sink's now.
    if (self->sink_->commit(static_cast<std::size_t>(res)) || res == 0) return true;
    if (self->ended_early()) return true;
    return self->template receive_next<B>();
  }

  /// Throws operation_cancelled, io_error; what was read is in the sink.
  void await_resume() const {
    this->end_or_throw("read");
    if (this->error_ != 0) throw_errno(this->error_, core_->context("read"));
  }

 private:
  /// Completion model: submits a receive into the sink's next room; true
  /// when the sink is satisfied without one.
  template <class B>
  bool receive_next() noexcept {
    for (;;) {
      const std::span<std::uint8_t> room = sink_->prepare();
      if (room.empty()) return true;
      if (core_->has_unread()) {
        if (sink_->commit(core_->take_unread(room.data(), room.size()))) return true;
        continue;
      }
      base::template backend_of<B>(this).submit_recv(*this, room.data(), room.size());
      return false;
    }
  }

  stream_core* core_;
  S* sink_;
};

}  // namespace netaio::inline v0::detail
