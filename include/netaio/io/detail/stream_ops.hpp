// The awaitable operations of a connected stream socket. Each one is a
// reactor_awaiter: no allocation, no coroutine frame of its own.
#pragma once

#include <netaio/io/detail/socket_handle.hpp>
#include <netaio/io/detail/socket_types.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

namespace netaio::inline v0::detail {

/// The state of a stream that outlives single operations: the descriptor,
/// the peer, and bytes a cancelled read_exact had already taken from the
/// kernel (handed to the next read first, so a cancellation loses nothing).
struct stream_core {
  socket_handle handle;
  endpoint peer;
  std::vector<std::uint8_t> unread;
  std::size_t unread_pos = 0;

  std::size_t take_unread(std::uint8_t* out, std::size_t n) noexcept {
    std::size_t k = std::min(n, unread.size() - unread_pos);
    if (k == 0) return 0;
    std::memcpy(out, unread.data() + unread_pos, k);
    unread_pos += k;
    if (unread_pos == unread.size()) {
      unread.clear();
      unread_pos = 0;
    }
    return k;
  }
  void keep_unread(const std::uint8_t* data, std::size_t n) {
    unread.insert(unread.begin() + static_cast<std::ptrdiff_t>(unread_pos), data, data + n);
  }
  bool has_unread() const noexcept { return unread_pos < unread.size(); }

  /// Error context: "read with 1.2.3.4:5 (local 127.0.0.1:6)".
  std::string context(const char* op) const {
    if (!handle.is_open()) return describe(op, &peer, nullptr);
    native_address n;
    n.length = sizeof n.storage;
    if (::getsockname(handle.fd(), n.get(), &n.length) != 0) return describe(op, &peer, nullptr);
    endpoint local = from_native(n.get());
    return describe(op, &peer, &local);
  }
};

/// Reads what is there (at least one byte, or 0 at end of stream).
class read_some_awaiter : public reactor_awaiter<read_some_awaiter, direction::read> {
 public:
  read_some_awaiter(stream_core& s, std::span<std::uint8_t> buf) noexcept
      : reactor_awaiter(s.handle.state()), core_(&s), buf_(buf) {}

#if !NETAIO_HAS_IOCP  // readiness only (POSIX calls)
  static bool perform(reactor_op* op) noexcept {
    auto* self = static_cast<read_some_awaiter*>(op);
    if (self->buf_.empty()) return true;
    if (self->core_->has_unread()) {
      self->n_ = self->core_->take_unread(self->buf_.data(), self->buf_.size());
      return true;
    }
    fd_state& s = *self->state_;
    if (!s.readable) return false;  // drained since the last edge: wait for the next
    ssize_t r = retry_eintr([&] { return ::recv(s.fd, self->buf_.data(), self->buf_.size(), 0); });
    if (r == 0 && (self->error_ = s.take_error()) != 0) return true;  // not end of stream
    if (r >= 0) {
      self->n_ = static_cast<std::size_t>(r);
      // A short read emptied the receive queue (0, end of stream, stays readable).
      if (r > 0 && self->n_ < self->buf_.size()) s.drained_read();
      return true;
    }
    if (would_block(errno)) {
      if ((self->error_ = s.take_error()) != 0) return true;
      s.drained_read();
      return false;
    }
    self->error_ = errno;
    return true;
  }
#endif

  static constexpr bool has_completion_path = true;
  template <class B>
  static bool start(reactor_op* op) noexcept {
    auto* self = static_cast<read_some_awaiter*>(op);
    if (self->buf_.empty()) return true;
    if (self->core_->has_unread()) {
      self->n_ = self->core_->take_unread(self->buf_.data(), self->buf_.size());
      return true;
    }
    backend_of<B>(op).submit_recv(*op, self->buf_.data(), self->buf_.size());
    return false;
  }
  template <class B>
  static bool finish(reactor_op* op) noexcept {
    auto* self = static_cast<read_some_awaiter*>(op);
    if (op->res_ >= 0) self->n_ = static_cast<std::size_t>(op->res_);
    self->note_error(op->res_);
    return true;
  }

  /// Bytes read; 0 means the peer closed its side (or `buf` was empty).
  std::size_t await_resume() {
    // Completion model: a read cancelled after the kernel had filled the
    // buffer; the bytes go back to the stream, as read_exact's do.
    if (n_ > 0 && ended_early() && end_ != op_end::closed) {
      core_->keep_unread(buf_.data(), n_);
      n_ = 0;
    }
    end_or_throw("read");
    if (error_ != 0) throw_errno(error_, core_->context("read"));
    return n_;
  }

 private:
  stream_core* core_;
  std::span<std::uint8_t> buf_;
  std::size_t n_ = 0;
};

/// Fills the whole buffer. On end of stream: io_error end_of_stream (nothing
/// read) or unexpected_eof (bytes_transferred() bytes of the buffer are
/// valid). On cancellation the bytes already read go back to the stream.
class read_exact_awaiter : public reactor_awaiter<read_exact_awaiter, direction::read> {
 public:
  read_exact_awaiter(stream_core& s, std::span<std::uint8_t> buf) noexcept
      : reactor_awaiter(s.handle.state()), core_(&s), buf_(buf) {}

#if !NETAIO_HAS_IOCP  // readiness only (POSIX calls)
  static bool perform(reactor_op* op) noexcept {
    auto* self = static_cast<read_exact_awaiter*>(op);
    std::uint8_t* p = self->buf_.data();
    const std::size_t size = self->buf_.size();
    self->filled_ += self->core_->take_unread(p + self->filled_, size - self->filled_);
    fd_state& s = *self->state_;
    while (self->filled_ < size) {
      if (!s.readable) return false;
      const std::size_t want = size - self->filled_;
      ssize_t r = retry_eintr([&] { return ::recv(s.fd, p + self->filled_, want, 0); });
      if (r > 0) {
        self->filled_ += static_cast<std::size_t>(r);
        if (static_cast<std::size_t>(r) < want) s.drained_read();
      } else if (r == 0) {
        if ((self->error_ = s.take_error()) == 0) self->eof_ = true;
        return true;
      } else if (would_block(errno)) {
        if ((self->error_ = s.take_error()) != 0) return true;
        s.drained_read();
        return false;
      } else {
        self->error_ = errno;
        return true;
      }
    }
    return true;
  }
#endif

  static constexpr bool has_completion_path = true;
  template <class B>
  static bool start(reactor_op* op) noexcept {
    auto* self = static_cast<read_exact_awaiter*>(op);
    std::uint8_t* p = self->buf_.data();
    const std::size_t size = self->buf_.size();
    self->filled_ += self->core_->take_unread(p + self->filled_, size - self->filled_);
    if (self->filled_ == size) return true;
    backend_of<B>(op).submit_recv(*op, p + self->filled_, size - self->filled_);
    return false;
  }
  template <class B>
  static bool finish(reactor_op* op) noexcept {
    auto* self = static_cast<read_exact_awaiter*>(op);
    const int res = op->res_;
    if (res == 0) {
      self->eof_ = true;
      return true;
    }
    if (res < 0) {
      self->note_error(res);
      return true;
    }
    self->filled_ += static_cast<std::size_t>(res);
    const std::size_t size = self->buf_.size();
    if (self->filled_ == size || self->ended_early()) return true;
    backend_of<B>(op).submit_recv(*op, self->buf_.data() + self->filled_, size - self->filled_);
    return false;
  }

  void await_resume() {
    if (ended_early() && filled_ > 0) {
      core_->keep_unread(buf_.data(), filled_);
      filled_ = 0;
    }
    end_or_throw("read");
    if (error_ != 0) throw_errno(error_, core_->context("read"), filled_);
    if (eof_) {
      const io_errc c = filled_ == 0 ? io_errc::end_of_stream : io_errc::unexpected_eof;
      throw io_error(
          c,
          "netaio: " + core_->context("read") + ": " +
              (filled_ == 0 ? std::string("the peer closed the stream")
                            : "the peer closed the stream after " + std::to_string(filled_) +
                                  " of " + std::to_string(buf_.size()) + " bytes"),
          {}, filled_);
    }
  }

 private:
  stream_core* core_;
  std::span<std::uint8_t> buf_;
  std::size_t filled_ = 0;
  bool eof_ = false;
};

/// Writes what the kernel takes now (at least one byte).
class write_some_awaiter : public reactor_awaiter<write_some_awaiter, direction::write> {
 public:
  write_some_awaiter(stream_core& s, std::span<const std::uint8_t> buf) noexcept
      : reactor_awaiter(s.handle.state()), core_(&s), buf_(buf) {}

#if !NETAIO_HAS_IOCP  // readiness only (POSIX calls)
  static bool perform(reactor_op* op) noexcept {
    auto* self = static_cast<write_some_awaiter*>(op);
    if (self->buf_.empty()) return true;
    fd_state& s = *self->state_;
    if (!s.writable) return false;  // the send buffer filled up since the last edge
    ssize_t r = retry_eintr(
        [&] { return ::send(s.fd, self->buf_.data(), self->buf_.size(), MSG_NOSIGNAL); });
    if (r >= 0) {
      self->n_ = static_cast<std::size_t>(r);
      if (self->n_ < self->buf_.size()) s.drained_write();
      return true;
    }
    const int e = errno;
    if ((self->error_ = s.take_error()) != 0) return true;
    if (would_block(e)) {
      s.drained_write();
      return false;
    }
    self->error_ = e;
    return true;
  }
#endif

  static constexpr bool has_completion_path = true;
  template <class B>
  static bool start(reactor_op* op) noexcept {
    auto* self = static_cast<write_some_awaiter*>(op);
    if (self->buf_.empty()) return true;
    auto& io = dependent<B>(self->io_);
    set_io_buffer(io.iov[0], self->buf_.data(), self->buf_.size());
    set_send_message(io.msg, io.iov, 1);
    if (!backend_of<B>(op).start_sendmsg(*op, &io.msg, true)) return false;
    return finish<B>(op);
  }
  template <class B>
  static bool finish(reactor_op* op) noexcept {
    auto* self = static_cast<write_some_awaiter*>(op);
    if (op->res_ >= 0) self->n_ = static_cast<std::size_t>(op->res_);
    self->note_error(op->res_);
    return true;
  }

  std::size_t await_resume() const {
    end_or_throw("write");
    if (error_ != 0) throw_errno(error_, core_->context("write"));
    return n_;
  }

 private:
  stream_core* core_;
  std::span<const std::uint8_t> buf_;
  std::size_t n_ = 0;
  [[no_unique_address]] send_storage<1> io_;
};

/// The most buffers one gathered send hands the kernel in one call (a
/// write_all of more takes several; try_write looks at this many).
inline constexpr std::size_t max_gather = 16;

#if !NETAIO_HAS_IOCP  // readiness tracking (POSIX calls)
/// One gathered send of what the kernel takes now, keeping `s`'s readiness
/// flag: the bytes sent, or -1 with `error` 0 when the send buffer is full
/// (wait for its next edge) or set to the socket's failure. The step of
/// write_all and of try_write.
inline ssize_t send_gathered(fd_state& s, iovec* iov, std::size_t n, int& error) noexcept {
  std::size_t want = 0;
  for (std::size_t i = 0; i < n; ++i)
    want += iov[i].iov_len;
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = n;
  const ssize_t r = retry_eintr([&] { return ::sendmsg(s.fd, &msg, MSG_NOSIGNAL); });
  if (r >= 0) {
    if (static_cast<std::size_t>(r) < want) s.drained_write();
    return r;
  }
  const int e = errno;
  if ((error = s.take_error()) != 0) return -1;
  if (would_block(e)) {
    s.drained_write();
    return -1;
  }
  error = e;
  return -1;
}
#endif

/// Writes every byte of one or more buffers (gathered with sendmsg), across
/// partial writes and EAGAIN. No SIGPIPE: a closed peer is io_error.
class write_all_awaiter : public reactor_awaiter<write_all_awaiter, direction::write> {
 public:
  write_all_awaiter(stream_core& s, std::span<const std::uint8_t> buf) noexcept
      : reactor_awaiter(s.handle.state()), core_(&s), one_(buf), single_(true) {}
  write_all_awaiter(stream_core& s, std::span<const std::span<const std::uint8_t>> bufs) noexcept
      : reactor_awaiter(s.handle.state()), core_(&s), bufs_(bufs) {}

#if !NETAIO_HAS_IOCP  // readiness only (POSIX calls)
  static bool perform(reactor_op* op) noexcept {
    auto* self = static_cast<write_all_awaiter*>(op);
    if (self->single_) self->bufs_ = {&self->one_, 1};  // now pinned: it is being awaited
    constexpr std::size_t max_iov = max_gather;
    for (;;) {
      // Skip finished and empty buffers.
      while (self->index_ < self->bufs_.size() &&
             self->offset_ == self->bufs_[self->index_].size()) {
        ++self->index_;
        self->offset_ = 0;
      }
      if (self->index_ == self->bufs_.size()) return true;
      iovec iov[max_iov];
      std::size_t n = 0;
      for (std::size_t i = self->index_; i < self->bufs_.size() && n < max_iov; ++i) {
        std::size_t skip = i == self->index_ ? self->offset_ : 0;
        auto b = self->bufs_[i].subspan(skip);
        if (b.empty()) continue;
        iov[n].iov_base = const_cast<std::uint8_t*>(b.data());
        iov[n].iov_len = b.size();
        ++n;
      }
      fd_state& s = *self->state_;
      if (!s.writable) return false;  // the send buffer filled up since the last edge
      const ssize_t r = send_gathered(s, iov, n, self->error_);
      if (r < 0) return self->error_ != 0;  // failed, or wait for room
      auto left = static_cast<std::size_t>(r);
      self->written_ += left;
      while (left > 0) {
        std::size_t room = self->bufs_[self->index_].size() - self->offset_;
        if (left < room) {
          self->offset_ += left;
          left = 0;
        } else {
          left -= room;
          ++self->index_;
          self->offset_ = 0;
        }
      }
    }
  }
#endif

  static constexpr bool has_completion_path = true;
  template <class B>
  static bool start(reactor_op* op) noexcept {
    auto* self = static_cast<write_all_awaiter*>(op);
    if (self->single_) self->bufs_ = {&self->one_, 1};  // now pinned: it is being awaited
    return self->send_rest<B>(true);
  }
  template <class B>
  static bool finish(reactor_op* op) noexcept {
    auto* self = static_cast<write_all_awaiter*>(op);
    if (op->res_ < 0) {
      self->note_error(op->res_);
      return true;
    }
    self->advance(static_cast<std::size_t>(op->res_));
    if (self->ended_early()) return true;
    return self->send_rest<B>(false);
  }

  void await_resume() const {
    end_or_throw("write");
    if (error_ != 0) throw_errno(error_, core_->context("write"), written_);
  }

 private:
  static constexpr std::size_t max_iov = max_gather;

  /// Completion model: sends what is left; true when done (or failed),
  /// false when a send is in flight. `try_now`: a send may finish at once
  /// (false after a partial one: the kernel buffer is full).
  template <class B>
  bool send_rest(bool try_now) noexcept {
    auto& io = dependent<B>(io_);
    for (;;) {
      while (index_ < bufs_.size() && offset_ == bufs_[index_].size()) {
        ++index_;
        offset_ = 0;
      }
      if (index_ == bufs_.size()) return true;
      std::size_t n = 0;
      std::size_t want = 0;
      for (std::size_t i = index_; i < bufs_.size() && n < max_iov; ++i) {
        auto b = bufs_[i].subspan(i == index_ ? offset_ : 0);
        if (b.empty()) continue;
        set_io_buffer(io.iov[n], b.data(), b.size());
        want += b.size();
        ++n;
      }
      set_send_message(io.msg, io.iov, n);
      if (!backend_of<B>(this).start_sendmsg(*this, &io.msg, try_now)) return false;
      if (res_ < 0) {
        note_error(res_);
        return true;
      }
      advance(static_cast<std::size_t>(res_));
      try_now = static_cast<std::size_t>(res_) == want;
    }
  }
  void advance(std::size_t left) noexcept {
    written_ += left;
    while (left > 0) {
      std::size_t room = bufs_[index_].size() - offset_;
      if (left < room) {
        offset_ += left;
        left = 0;
      } else {
        left -= room;
        ++index_;
        offset_ = 0;
      }
    }
  }

  stream_core* core_;
  std::span<const std::uint8_t> one_;
  std::span<const std::span<const std::uint8_t>> bufs_;
  bool single_ = false;  // bufs() is one_ (not stored as a span: the awaiter may move)
  std::size_t index_ = 0;
  std::size_t offset_ = 0;
  std::size_t written_ = 0;
  [[no_unique_address]] send_storage<max_iov> io_;
};

/// Sends what the kernel takes of `bufs` (in order, gathered: at most the
/// first max_gather) now, without waiting: the bytes taken (0 when none fit, or when
/// a write is pending on the stream, whose bytes must go first). Throws
/// io_error: closed, or a failure of the socket. IOCP has no synchronous
/// send on an overlapped socket: 0 there.
inline std::size_t try_send_now(stream_core& core,
                                std::span<const std::span<const std::uint8_t>> bufs) {
  (void)core.handle.checked_fd("write");
#if NETAIO_HAS_IOCP
  (void)bufs;
  return 0;
#else
  fd_state* s = core.handle.state();
  if (s->writer != nullptr) return 0;
  // Readiness backends: a send buffer found full waits for its edge. (On
  // io_uring nothing sets the flag again: it is not looked at.)
  if (io_backend::model == io_model::readiness && !s->writable) return 0;
  constexpr std::size_t max_iov = max_gather;
  iovec iov[max_iov];
  std::size_t n = 0;
  for (std::size_t i = 0; i < bufs.size() && n < max_iov; ++i) {
    if (bufs[i].empty()) continue;
    iov[n].iov_base = const_cast<std::uint8_t*>(bufs[i].data());
    iov[n].iov_len = bufs[i].size();
    ++n;
  }
  if (n == 0) return 0;
  int error = 0;
  const ssize_t r = send_gathered(*s, iov, n, error);
  if (r >= 0) return static_cast<std::size_t>(r);
  if (error != 0) throw_errno(error, core.context("write"));
  return 0;  // full
#endif
}

/// Connects a fresh socket: the first attempt runs at once; EINPROGRESS
/// waits for writability, and SO_ERROR says how it ended.
class connect_awaiter : public reactor_awaiter<connect_awaiter, direction::write> {
 public:
  connect_awaiter(stream_core& s, const native_address& to) noexcept
      : reactor_awaiter(s.handle.state()), core_(&s), to_(to) {}

#if !NETAIO_HAS_IOCP  // readiness only (POSIX calls)
  static bool perform(reactor_op* op) noexcept {
    auto* self = static_cast<connect_awaiter*>(op);
    const int fd = self->state_->fd;
    if (!self->started_) {
      self->started_ = true;
      if (::connect(fd, self->to_.get(), self->to_.length) == 0) return true;
      if (errno == EINPROGRESS || errno == EINTR) return false;
      self->error_ = errno;
      return true;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (const int taken = self->state_->take_error(); err == 0) err = taken;
    if (err != 0) {
      self->error_ = err;
      return true;
    }
    // Writability without an error, yet not connected: a stale edge.
    native_address peer;
    peer.length = sizeof peer.storage;
    if (::getpeername(fd, peer.get(), &peer.length) != 0) {
      if (errno == ENOTCONN) return false;
      self->error_ = errno;
    }
    return true;
  }
#endif

  // IOCP: ConnectEx (the socket bound first), then SO_UPDATE_CONNECT_CONTEXT.
  static constexpr bool has_completion_path = iocp_completion;
  template <class B>
  static bool start(reactor_op* op) noexcept {
    auto* self = static_cast<connect_awaiter*>(op);
    backend_of<B>(op).submit_connect(*op, self->to_.get(), self->to_.length);
    return false;
  }
  template <class B>
  static bool finish(reactor_op* op) noexcept {
    auto* self = static_cast<connect_awaiter*>(op);
    if (op->res_ >= 0 && op->state_ != nullptr) op->res_ = -B::connected(op->state_->fd);
    self->note_error(op->res_);
    return true;
  }

  void await_resume() const {
    end_or_throw("connect");
    if (error_ != 0) {
      throw_errno(error_, describe("connect to " + core_->peer.to_string(), nullptr, nullptr));
    }
  }

 private:
  stream_core* core_;
  native_address to_;
  bool started_ = false;
};

}  // namespace netaio::inline v0::detail
