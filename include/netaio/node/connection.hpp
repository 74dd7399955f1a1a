// One TCP connection of a node: a framed stream read by exactly one receive
// loop (its owner's), and a bounded queue of encoded frames, so that sending
// to a connection never waits on its peer. Frames queued in a loop turn are
// written together at the end of that turn, as far as the kernel takes them
// (one sendmsg, no task); a writer task runs only for what it did not take,
// until the queue is empty: an idle connection holds none.
// Shared by tcp_server (one per accepted client) and tcp_client (one per
// server).
#pragma once

#include <netaio/core/deadline.hpp>
#include <netaio/core/event.hpp>
#include <netaio/core/event_loop.hpp>
#include <netaio/core/task.hpp>
#include <netaio/core/task_scope.hpp>
#include <netaio/io/tcp_stream.hpp>
#include <netaio/node/framed_stream.hpp>
#include <netaio/node/log.hpp>
#include <netaio/node/peer_address.hpp>
#include <netaio/wire/bytes.hpp>
#include <netaio/wire/protocol.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace netaio::inline v0 {

template <protocol_policy P>
class basic_tcp_connection;

namespace detail {
/// The framed stream of a connection, for its one receive loop (the node
/// that owns it) only: handlers get the connection, never a way to read its
/// stream (one reader per stream, by construction). Not for users.
struct connection_access {
  template <protocol_policy P>
  static basic_framed_stream<P>& framed(basic_tcp_connection<P>& c) noexcept {
    return c.stream_;
  }
};
}  // namespace detail

/// Limits of one connection. The defaults are meant for a server on the
/// internet; every one can be lifted.
struct connection_options {
  /// Larger frames are refused from their header alone (the connection is
  /// then closed: its framing cannot be trusted past such a frame).
  std::size_t max_frame_size = max_default_frame_size;
  /// A connection that sends nothing for this long is closed (max(): never).
  std::chrono::nanoseconds idle_timeout = std::chrono::minutes(10);
  /// Frames queued for sending at most. A connection whose queue is full
  /// when a frame is queued without waiting (broadcast, notify) is dropped:
  /// its reader has stayed behind for a whole queue of frames.
  std::size_t send_queue_frames = 1024;
  /// A write (or a waiting send()) that makes no progress for this long
  /// drops the connection: its reader has stopped reading.
  std::chrono::nanoseconds send_timeout = std::chrono::seconds(30);
};

/// A TCP connection carrying frames of protocol P. Handlers receive it as
/// their connection argument. It lives in its receive loop's frame: keep no
/// reference to it past the handler call that gave it (use its id() or the
/// node's connection lookups instead).
template <protocol_policy P = default_protocol>
class basic_tcp_connection : private detail::turn_end_node {
 public:
  using message_t = typename P::message_t;

  /// `log` must outlive the connection.
  basic_tcp_connection(tcp_stream s, const connection_options& opts, const logger& log,
                       std::uint64_t id = 0)
      : stream_(std::move(s), framed_stream_options{.max_frame_size = opts.max_frame_size}),
        limit_(opts.send_queue_frames == 0 ? 1 : opts.send_queue_frames),
        peer_(to_peer_address(stream_.stream().remote_endpoint())),
        send_timeout_(opts.send_timeout),
        log_(&log),
        id_(id) {
    run = &flush_at_turn_end;
  }
  basic_tcp_connection(const basic_tcp_connection&) = delete;
  basic_tcp_connection& operator=(const basic_tcp_connection&) = delete;
  ~basic_tcp_connection() {
    // (The loop, not the scope: a connection may outlive its owner's scope.)
    if (loop_ != nullptr) loop_->cancel_turn_end(flusher());
  }

  /// The other side's address.
  const peer_address& peer() const noexcept { return peer_; }
  const endpoint& remote_endpoint() const noexcept { return stream_.stream().remote_endpoint(); }
  /// A number unique among the node's connections.
  std::uint64_t id() const noexcept { return id_; }
  /// False once closed or closing.
  bool is_open() const noexcept { return !closing_ && stream_.is_open(); }

  /// Queues `m` as it is (already sealed) without waiting. False if the
  /// connection is closing, or its queue is full: then it is dropped.
  bool try_send(const message_t& m) {
    if (closing_) return false;
    return try_queue_message(m) || drop_full();
  }
  /// Queues an encoded frame without waiting (see try_send).
  bool try_send_encoded(byte_buffer frame) {
    if (closing_) return false;
    return try_queue(frame) || drop_full();
  }
  /// Queues `m` as it is, waiting for room in the queue for up to the send
  /// timeout; false if the connection is closing or it stayed full (then
  /// it is dropped). Frames are written in the order they were queued.
  task<bool> send(const message_t& m) {
    if (closing_) co_return false;
    if (try_queue_message(m)) co_return true;
    byte_buffer frame = encode(m);
    // Full: wait in line; the writer moves waiting frames into the queue,
    // oldest first, as it takes frames out.
    pending_send p;
    p.frame = std::move(frame);
    link(p);
    struct unlink_guard {  // a cancelled or timed-out wait leaves the line
      basic_tcp_connection* c;
      pending_send* p;
      ~unlink_guard() { c->unlink(*p); }
    } guard{this, &p};
    const bool woke = co_await move_on_after(send_timeout_, p.done.wait());
    if (woke && p.queued) co_return true;
    if (!woke && !closing_) close("its send queue stayed full past the send timeout");
    co_return false;
  }

  /// Closes the connection now: the receive loop and the writer end, queued
  /// frames are dropped. Logged at info with `reason`. Idempotent.
  void close(std::string_view reason = "closed") noexcept {
    if (stream_.is_open()) {
      try {
        log_->info(peer_, "closing the connection: ", reason);
      } catch (...) {
      }
    }
    closing_ = true;
    closed_ = true;
    wake_all();
    stream_.close();
  }
  /// Stops queueing: what is queued is written (what the kernel does not
  /// take at once, by the writer), then the writer ends (the owner closes
  /// the stream after joining it). For "answer, then close".
  void finish() noexcept {
    closing_ = true;
    wake_all();
    if (loop_ != nullptr) {
      loop_->cancel_turn_end(flusher());
      flush();  // now: the owner's join must find the writer if one is needed
    }
  }

  /// Where the writer runs: the owner's scope beside the receive loop,
  /// joined before the connection is destroyed, and alive for as long as
  /// frames can be queued (finish() or close() before it ends). Frames
  /// queued before this call wait for it. Set once.
  void write_in(task_scope& scope) noexcept {
    writer_scope_ = &scope;
    loop_ = &scope.loop();
    if (count_ != 0) loop_->at_turn_end(flusher());
  }

 private:
  friend struct detail::connection_access;

  // At the end of the turn in which frames were queued (no writer running):
  // writes what the kernel takes of them now, in one call per
  // tcp_stream::max_gathered frames,
  // and starts the writer for the rest.
  // (The connection is its own turn-end node: no back pointer to keep.)
  detail::turn_end_node& flusher() noexcept { return *this; }
  static void flush_at_turn_end(detail::turn_end_node* n) noexcept {
    static_cast<basic_tcp_connection*>(n)->flush();
  }
  void flush() noexcept {
    if (writing_ || closed_ || count_ == 0 || writer_scope_ == nullptr) return;
    try {
      for (;;) {
        byte_view views[tcp_stream::max_gathered];
        std::size_t k = 0;
        std::size_t want = 0;
        for (; k < tcp_stream::max_gathered && k < count_; ++k) {
          views[k] = ring_[(head_ + k) % ring_.size()];
          want += views[k].size();
        }
        std::size_t n = stream_.try_write_encoded({views, k});
        const bool all = n == want;
        while (n > 0) {  // drop what went out; the rest of a frame stays at the front
          byte_buffer& front = ring_[head_];
          if (n < front.size()) {
            front.erase(front.begin(), front.begin() + static_cast<std::ptrdiff_t>(n));
            break;
          }
          n -= front.size();
          drop_front();
        }
        refill();
        if (count_ == 0) return;
        if (!all) break;  // the kernel's buffer is full
      }
    } catch (const io_error& e) {
      try {
        log_->info(peer_, "write failed: ", std::string_view(e.what()));
      } catch (...) {
      }
      close("write failed");
      return;
    } catch (...) {  // (no memory to move waiting frames in)
      close("out of memory");
      return;
    }
    if (!start_writer()) close("its writer could not start");
  }

  // The writer: sends queued frames, batched, until the queue is drained
  // (then it ends), the connection is closed, or a write stalls past the
  // send timeout. At most one runs.
  task<void> write_loop() {
    struct running_flag {  // cleared on every way out, a cancellation too
      bool& on;
      ~running_flag() { on = false; }
    } flag{writing_};
    std::vector<byte_buffer> batch;
    std::vector<byte_view> views;
    for (;;) {
      if (count_ == 0 || closed_) co_return;
      batch.clear();
      while (batch.size() < 64 && count_ != 0)
        batch.push_back(take());
      refill();
      views.assign(batch.begin(), batch.end());
      bool wrote = false;
      try {
        wrote = co_await move_on_after(send_timeout_, stream_.write_encoded(views));
      } catch (const io_error& e) {
        if (!closing_) log_->info(peer_, "write failed: ", std::string_view(e.what()));
        close("write failed");
        co_return;
      }
      if (!wrote) {
        log_->warning(peer_, "dropping a connection whose reader stopped reading");
        close("send timeout");
        co_return;
      }
    }
  }

  static byte_buffer encode(const message_t& m) {
    byte_buffer b;
    m.encode_to(b);
    return b;
  }

  // The send queue: a ring of frames that grows on demand up to limit_
  // frames (an idle connection holds one empty slot, not limit_), and the
  // senders waiting for room, oldest first.
  struct pending_send {
    byte_buffer frame;
    async_event done;
    bool queued = false;
    pending_send* prev = nullptr;
    pending_send* next = nullptr;
    bool linked = false;
  };

  // Queues `frame` if there is room and nobody waits in line (frames go out
  // in the order they were queued), for the flush at the end of this turn
  // unless a writer runs (or there is no scope yet); leaves it untouched
  // otherwise.
  bool try_queue(byte_buffer& frame) {
    return try_queue_with([&frame](byte_buffer& slot) { slot = std::move(frame); });
  }
  // try_queue() of `m`'s frame, encoded into the buffer its ring slot kept
  // from the frame before (no allocation once the ring's slots have room).
  bool try_queue_message(const message_t& m) {
    return try_queue_with([&m](byte_buffer& slot) {
      slot.clear();
      m.encode_to(slot);  // (leaves the slot as it was if it throws)
    });
  }
  // The queue's one way in while there is room: `fill` writes the frame
  // into the next slot.
  template <class Fill>
  bool try_queue_with(Fill&& fill) {
    if (count_ >= limit_ || waiting_head_ != nullptr) return false;
    fill(next_slot());
    ++count_;
    if (!writing_ && loop_ != nullptr) loop_->at_turn_end(flusher());
    return true;
  }
  // A send that found the queue full: the connection is dropped.
  bool drop_full() noexcept {
    close("its send queue stayed full (a reader that does not read)");
    return false;
  }
  bool start_writer() noexcept {
    writing_ = true;
    try {
      writer_scope_->spawn(write_loop(), "writer");
    } catch (...) {
      writing_ = false;
      return false;
    }
    return true;
  }
  byte_buffer& next_slot() {
    if (count_ == ring_.size()) grow();
    return ring_[(head_ + count_) % ring_.size()];
  }
  void put(byte_buffer&& frame) {
    next_slot() = std::move(frame);
    ++count_;
  }
  void grow() {
    std::vector<byte_buffer> bigger(std::min(limit_, std::max<std::size_t>(1, ring_.size() * 2)));
    for (std::size_t i = 0; i < count_; ++i)
      bigger[i] = std::move(ring_[(head_ + i) % ring_.size()]);
    ring_ = std::move(bigger);
    head_ = 0;
  }
  // Drops the frame at the front, written; its slot keeps the buffer for
  // the next frame, unless a large frame made it large.
  void drop_front() noexcept {
    byte_buffer& b = ring_[head_];
    if (b.capacity() > kept_frame_capacity) {
      byte_buffer().swap(b);
    } else {
      b.clear();
    }
    head_ = (head_ + 1) % ring_.size();
    --count_;
  }
  static constexpr std::size_t kept_frame_capacity = 4096;
  byte_buffer take() {
    byte_buffer b = std::move(ring_[head_]);
    head_ = (head_ + 1) % ring_.size();
    --count_;
    return b;
  }
  // Room was made: waiting senders' frames go in, oldest first.
  void refill() {
    while (waiting_head_ != nullptr && count_ < limit_) {
      pending_send* p = waiting_head_;
      unlink(*p);
      put(std::move(p->frame));
      p->queued = true;
      p->done.set();
    }
  }
  void link(pending_send& p) {
    p.prev = waiting_tail_;
    (waiting_tail_ != nullptr ? waiting_tail_->next : waiting_head_) = &p;
    waiting_tail_ = &p;
    p.linked = true;
  }
  void unlink(pending_send& p) noexcept {
    if (!p.linked) return;
    (p.prev != nullptr ? p.prev->next : waiting_head_) = p.next;
    (p.next != nullptr ? p.next->prev : waiting_tail_) = p.prev;
    p.prev = p.next = nullptr;
    p.linked = false;
  }
  // Closing or finishing: waiting senders give up.
  void wake_all() noexcept {
    while (pending_send* p = waiting_head_) {
      unlink(*p);
      p->done.set();
    }
  }

  basic_framed_stream<P> stream_;
  std::vector<byte_buffer> ring_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::size_t limit_;
  pending_send* waiting_head_ = nullptr;
  pending_send* waiting_tail_ = nullptr;
  peer_address peer_;
  std::chrono::nanoseconds send_timeout_;
  const logger* log_;
  std::uint64_t id_;
  bool closing_ = false;  // no more queueing (close or finish)
  bool closed_ = false;   // closed: queued frames are dropped
  bool writing_ = false;  // a writer runs
  task_scope* writer_scope_ = nullptr;
  event_loop* loop_ = nullptr;  // writer_scope_'s, which may end before the connection
};

/// The default protocol's connection.
using tcp_connection = basic_tcp_connection<>;

}  // namespace netaio::inline v0
