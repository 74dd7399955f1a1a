// task<T>: a lazy, move-only coroutine whose result (or exception) goes to
// the one task that awaits it.
#pragma once

#include <netaio/core/detail/frame_pool.hpp>
#include <netaio/core/error.hpp>
#include <netaio/core/task_context.hpp>
#include <netaio/detail/config.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <cstdio>
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

/// Ends the program with a message: for misuse that cannot be reported as
/// an exception (in a destructor or a noexcept path), in every build mode.
[[noreturn]] inline void fatal(const char* what) noexcept {
  std::fprintf(stderr, "netaio: fatal: %s\n", what);
  std::terminate();
}

/// Told when a spawned task ends (a task_scope's record of the child).
struct child_hook {
  std::coroutine_handle<> (*done)(child_hook*, promise_base&,
                                  std::coroutine_handle<>) noexcept = nullptr;
};

/// What the loop on this thread is running. Awaiting a task does not resume
/// it from inside the awaiter (the native stack would grow with every level
/// of nesting, and g++ below -O2 does not turn symmetric transfer into a
/// tail call); it hands the child to the driver loop below, which resumes it
/// next. A finishing task hands its awaiter back the same way. So chains of
/// awaits, nested or sequential, run at constant stack depth whatever the
/// compiler and optimisation level.
struct running_state {
  std::coroutine_handle<> next;
  task_context* next_context = nullptr;
  task_context* current = nullptr;  // the context of the task running now
  bool driving = false;
};
inline constinit thread_local running_state running_{};

/// Resumes `h` (in context `ctx`) and whatever it hands over to, until
/// everything suspends.
inline void drive(std::coroutine_handle<> h, task_context* ctx) {
  running_state& r = running_;
  const bool outer = r.driving;
  task_context* const saved = r.current;
  r.driving = true;
  for (;;) {
    r.current = ctx;
    h.resume();
    if (!r.next) break;
    h = std::exchange(r.next, {});
    ctx = r.next_context;
  }
  r.current = saved;
  r.driving = outer;
}

/// Hands `h` to the driver to run as soon as the current coroutine suspends.
inline void run_next(std::coroutine_handle<> h, task_context* ctx) noexcept {
  running_state& r = running_;
  if (!r.driving) fatal("a netaio task was resumed outside its event loop");
  r.next = h;
  r.next_context = ctx;
}

class promise_base {
 public:
  promise_base() noexcept {
#if NETAIO_TRACK_FRAMES
    live_frames_.fetch_add(1, std::memory_order_relaxed);
#endif
  }
  promise_base(const promise_base&) = delete;
  promise_base& operator=(const promise_base&) = delete;

  // Frames come from the thread's frame pool (detail/frame_pool.hpp).
  static void* operator new(std::size_t n) {
    return allocate_frame(n);
  }
  static void operator delete(void* p, std::size_t n) noexcept {
    deallocate_frame(p, n);
  }

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
      if (p.child_ != nullptr) return p.child_->done(p.child_, p, h);
      if (p.continuation_) run_next(p.continuation_, p.continuation_context_);
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

  /// Starts this (not yet started) task as the awaited child of the task
  /// whose context is `caller_context`, running in `context`.
  void start_awaited(std::coroutine_handle<> self, std::coroutine_handle<> caller,
                     task_context* context, task_context* caller_context) noexcept {
    context_ = context;
    continuation_ = caller;
    continuation_context_ = caller_context;
    started_ = true;
    run_next(self, context);
  }

  task_context* context_ = nullptr;
  task_context* continuation_context_ = nullptr;
  std::coroutine_handle<> continuation_;
  std::exception_ptr exception_;
  child_hook* child_ = nullptr;  // set while owned by a task_scope
  bool started_ = false;
  bool cancelled_ = false;  // exception_ is an operation_cancelled
};

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

/// Throws invalid_task unless `h` is a task that has not started yet.
template <class H>
void check_unstarted(H h, const char* what) {
  if (!h) {
    throw invalid_task(std::string("netaio: ") + what +
                       " an empty task (moved from, already awaited or spawned, or default-made)");
  }
  if (h.promise().started_) {
    throw invalid_task(std::string("netaio: ") + what + " a task that has already started");
  }
}

}  // namespace detail

/// A lazy coroutine: it starts when awaited (or spawned into a task_scope),
/// runs on the awaiting task's loop under its cancellation, and hands its
/// result or exception back. Move-only; awaited at most once: awaiting
/// consumes it, and awaiting it again throws invalid_task.
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

  /// False for a default-constructed, moved-from, awaited or spawned task.
  bool valid() const noexcept { return static_cast<bool>(handle_); }

  /// Owns the frame for the duration of the co_await expression.
  class awaiter {
   public:
    explicit awaiter(handle_type h) noexcept : h_(h) {}
    awaiter(awaiter&& other) noexcept : h_(std::exchange(other.h_, {})) {}
    awaiter& operator=(awaiter&&) = delete;
    ~awaiter() {
      if (h_) h_.destroy();
    }
    bool await_ready() const noexcept { return false; }
    template <detail::netaio_promise P>
    void await_suspend(std::coroutine_handle<P> caller) noexcept {
      task_context* ctx = caller.promise().context_;
      h_.promise().start_awaited(h_, caller, ctx, ctx);
    }
    decltype(auto) await_resume() { return h_.promise().result(); }

   private:
    handle_type h_;
  };

  /// Consumes the task. Throws invalid_task if it is empty (moved from or
  /// awaited before) or was started some other way.
  awaiter operator co_await() && {
    detail::check_unstarted(handle_, "awaiting");
    return awaiter{std::exchange(handle_, {})};
  }

  /// Gives up ownership of the coroutine (used by task_scope and the loop).
  handle_type release() noexcept { return std::exchange(handle_, {}); }
  handle_type handle() const noexcept { return handle_; }

 private:
  void destroy() noexcept {
    if (handle_) handle_.destroy();
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

template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<task<T>> : std::true_type {};
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
