// task<T>: a lazy, move-only coroutine whose result (or exception) goes to
// the one task that awaits it.
#pragma once

#include <netaio/core/source_location.hpp>
#include <netaio/core/task_context.hpp>
#include <netaio/detail/config.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <type_traits>
#include <typeinfo>
#include <utility>

#if defined(__GLIBCXX__) || defined(_LIBCPP_VERSION)
#include <cxxabi.h>
#endif

// Live-frame counting for leak assertions; on by default in debug builds.
#if !defined(NETAIO_TRACK_FRAMES)
#if defined(NDEBUG)
#define NETAIO_TRACK_FRAMES 0
#else
#define NETAIO_TRACK_FRAMES 1
#endif
#endif

namespace netaio::inline v0 {

template <class T = void>
class task;

namespace detail {

class promise_base;

/// Inside a catch handler: is the exception in flight operation_cancelled?
/// Asked once per failed task; the Itanium ABI answers without a rethrow,
/// which matters when ten thousand tasks are cancelled at once.
inline bool current_exception_is_cancellation() noexcept {
#if defined(__GLIBCXX__) || defined(_LIBCPP_VERSION)
  const std::type_info* type = abi::__cxa_current_exception_type();
  return type != nullptr && *type == typeid(operation_cancelled);
#else
  try {
    throw;
  } catch (const operation_cancelled&) {
    return true;
  } catch (...) {
    return false;
  }
#endif
}

#if NETAIO_TRACK_FRAMES
inline std::atomic<long> live_frames_{0};
#endif

/// Something that owns spawned children (a task_scope): told when one ends.
struct child_owner {
  std::coroutine_handle<> (*child_done_)(child_owner*, promise_base&,
                                         std::coroutine_handle<>) noexcept = nullptr;
};

/// Membership of a spawned task in its owner's list of children.
struct child_link {
  child_link* prev = nullptr;
  child_link* next = nullptr;
  child_owner* owner = nullptr;
  const char* name = nullptr;
  source_location where;
};

/// How the task relates to the one that started it. A child that finishes
/// while still inside its awaiter's await_suspend (inline) must not resume
/// the awaiter recursively; the awaiter simply does not suspend. That keeps
/// long chains of synchronously completing awaits at constant stack depth
/// whether or not the compiler turns symmetric transfer into a tail call.
enum class start_state : std::uint8_t { not_started, inline_running, inline_done, suspended };

class promise_base {
 public:
  promise_base() noexcept {
#if NETAIO_TRACK_FRAMES
    live_frames_.fetch_add(1, std::memory_order_relaxed);
#endif
  }
  promise_base(const promise_base&) = delete;
  promise_base& operator=(const promise_base&) = delete;
  ~promise_base() {
#if NETAIO_TRACK_FRAMES
    live_frames_.fetch_sub(1, std::memory_order_relaxed);
#endif
  }

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      promise_base& p = h.promise();
      if (p.link_.owner != nullptr) return p.link_.owner->child_done_(p.link_.owner, p, h);
      if (p.state_ == start_state::inline_running) {
        p.state_ = start_state::inline_done;
        return std::noop_coroutine();
      }
      if (p.continuation_) return p.continuation_;
      return std::noop_coroutine();
    }
    void await_resume() const noexcept {}
  };

  std::suspend_always initial_suspend() const noexcept {
    return {};
  }
  final_awaiter final_suspend() const noexcept {
    return {};
  }
  void unhandled_exception() noexcept {
    exception_ = std::current_exception();
    cancelled_ = current_exception_is_cancellation();
  }

  task_context* context_ = nullptr;
  std::coroutine_handle<> continuation_;
  std::exception_ptr exception_;
  child_link link_;
  start_state state_ = start_state::not_started;
  bool cancelled_ = false;  // exception_ is an operation_cancelled
};

/// Runs `child` inside `caller`'s await_suspend with context `ctx`. Returns
/// whether the caller must suspend (false: the child already finished).
inline bool start_nested(std::coroutine_handle<> child, promise_base& child_promise,
                         std::coroutine_handle<> caller, task_context* ctx) {
  child_promise.context_ = ctx;
  child_promise.continuation_ = caller;
  child_promise.state_ = start_state::inline_running;
  child.resume();
  if (child_promise.state_ == start_state::inline_done) return false;
  child_promise.state_ = start_state::suspended;
  return true;
}

template <class P>
concept netaio_promise = std::is_base_of_v<promise_base, P>;

template <class T>
class task_promise final : public promise_base {
 public:
  task<T> get_return_object() noexcept;
  template <class U>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    ::new (static_cast<void*>(&storage_)) T(std::forward<U>(v));
    has_value_ = true;
  }
  ~task_promise() {
    if (has_value_) std::launder(reinterpret_cast<T*>(&storage_))->~T();
  }
  T result() {
    if (exception_) std::rethrow_exception(exception_);
    return std::move(*std::launder(reinterpret_cast<T*>(&storage_)));
  }

 private:
  alignas(T) unsigned char storage_[sizeof(T)];
  bool has_value_ = false;
};

template <class T>
class task_promise<T&> final : public promise_base {
 public:
  task<T&> get_return_object() noexcept;
  void return_value(T& v) noexcept { value_ = std::addressof(v); }
  T& result() {
    if (exception_) std::rethrow_exception(exception_);
    return *value_;
  }

 private:
  T* value_ = nullptr;
};

template <>
class task_promise<void> final : public promise_base {
 public:
  task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void result() {
    if (exception_) std::rethrow_exception(exception_);
  }
};

}  // namespace detail

/// A lazy coroutine: it starts when awaited (or spawned into a task_scope),
/// runs on the awaiting task's loop under its cancellation, and hands its
/// result or exception back. Move-only; one awaiter.
template <class T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::task_promise<T>;
  using handle_type = std::coroutine_handle<promise_type>;
  using value_type = T;

  task() noexcept = default;
  explicit task(handle_type h) noexcept : handle_(h) {}
  task(task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { destroy(); }

  /// False for a default-constructed or moved-from task.
  bool valid() const noexcept { return static_cast<bool>(handle_); }
  bool done() const noexcept { return handle_ && handle_.done(); }

  struct awaiter {
    handle_type h;
    bool await_ready() const noexcept { return h.done(); }
    template <detail::netaio_promise P>
    bool await_suspend(std::coroutine_handle<P> caller) {
      return detail::start_nested(h, h.promise(), caller, caller.promise().context_);
    }
    decltype(auto) await_resume() { return h.promise().result(); }
  };

  awaiter operator co_await() && noexcept {
    NETAIO_ASSERT(handle_, "awaiting an empty task");
    return awaiter{handle_};
  }

  /// Gives up ownership of the coroutine (used by task_scope and the loop).
  handle_type release() noexcept { return std::exchange(handle_, {}); }
  handle_type handle() const noexcept { return handle_; }

 private:
  void destroy() noexcept {
    if (handle_) {
      NETAIO_ASSERT(handle_.promise().state_ == detail::start_state::not_started || handle_.done(),
                    "a task was destroyed while it was running");
      handle_.destroy();
    }
  }
  handle_type handle_;
};

namespace detail {
template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>{std::coroutine_handle<task_promise>::from_promise(*this)};
}
template <class T>
task<T&> task_promise<T&>::get_return_object() noexcept {
  return task<T&>{std::coroutine_handle<task_promise>::from_promise(*this)};
}
inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>{std::coroutine_handle<task_promise>::from_promise(*this)};
}

/// Reads the awaiting task's context without suspending.
struct context_awaiter {
  task_context* ctx = nullptr;
  bool await_ready() const noexcept { return false; }
  template <netaio_promise P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    ctx = h.promise().context_;
    return false;
  }
  task_context& await_resume() const noexcept { return *ctx; }
};
}  // namespace detail

/// `co_await this_context()` gives the current task's context (its loop,
/// cancellation token and parent), e.g. to open a nested task_scope.
inline detail::context_awaiter this_context() noexcept {
  return {};
}

/// Coroutine frames alive now (debug builds; 0 when tracking is off).
inline long live_task_frames() noexcept {
#if NETAIO_TRACK_FRAMES
  return detail::live_frames_.load(std::memory_order_relaxed);
#else
  return 0;
#endif
}

}  // namespace netaio::inline v0
