// io_context: the runtime's event loop plus I/O readiness from the
// platform backend. One per thread; several on several threads share nothing.
#pragma once

#include <netaio/core/event_loop.hpp>
#include <netaio/io/detail/backend_select.hpp>

#include <cstddef>

namespace netaio::inline v0 {

namespace detail {
/// Holds the backend so that it is constructed before the event_loop base
/// that keeps a reference to it (base-from-member).
struct io_backend_holder {
  io_backend io_backend_;
};
}  // namespace detail

/// An event_loop that also waits for socket readiness. Sockets are opened on
/// one io_context and must be used by tasks running on it; they may outlive
/// it (they are then closed for every use but close()).
class io_context : private detail::io_backend_holder, public event_loop {
 public:
  explicit io_context(loop_options options = {}) : event_loop(options, io_backend_) {}
  io_context(const io_context&) = delete;
  io_context& operator=(const io_context&) = delete;
  ~io_context() = default;

  /// Ends every pending I/O operation on this context with cancellation
  /// (their tasks resume with operation_cancelled on the next turn), and
  /// refuses later ones the same way. Loop thread only; idempotent. Timers
  /// and other tasks keep running, so owners can finish their cleanup.
  void close() noexcept { io_backend_.abort_all(); }
  bool closed() const noexcept { return io_backend_.closed(); }

  /// Descriptors registered now (open sockets of this context).
  std::size_t registered_descriptors() const noexcept { return io_backend_.registered(); }
  /// Operations waiting for readiness now.
  std::size_t pending_operations() const noexcept { return io_backend_.pending_operations(); }
  /// "epoll", "kqueue", ...
  static constexpr const char* backend_name() noexcept { return detail::io_backend::name; }

  detail::io_backend& backend() noexcept { return io_backend_; }
};

}  // namespace netaio::inline v0
