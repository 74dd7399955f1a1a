// The single-threaded event loop: ready tasks, timers, cross-thread posts,
// and (through a backend) I/O readiness.
#pragma once

#include <netaio/core/cancellation.hpp>
#include <netaio/core/detail/loop_backend.hpp>
#include <netaio/core/detail/ready_queue.hpp>
#include <netaio/core/detail/timer_queue.hpp>
#include <netaio/core/error.hpp>
#include <netaio/core/task.hpp>
#include <netaio/core/task_context.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace netaio::inline v0 {

namespace detail {
/// A scope's entry in its loop's list of scopes (for task_scope::dump).
struct loop_scope_node {
  loop_scope_node* prev_scope = nullptr;
  loop_scope_node* next_scope = nullptr;
};

/// Work queued to run once at the end of the loop's current turn, after the
/// tasks that were ready and before the loop looks at I/O again: what
/// several tasks produce in one turn is then handled in one go (a node's
/// connection writes every frame queued in the turn with one call).
struct turn_end_node {
  void (*run)(turn_end_node*) noexcept = nullptr;
  turn_end_node* prev = nullptr;
  turn_end_node* next = nullptr;
  bool queued = false;
};
}  // namespace detail

/// How a loop keeps time.
struct loop_options {
  /// Virtual time for tests: starts at zero, and whenever every task is
  /// blocked and only timers remain, jumps to the next timer (Trio's
  /// autojump clock), so hour-long timeouts run in microseconds.
  bool virtual_time = false;
};

/// Runs tasks on the calling thread. One loop per thread; loops share nothing.
/// Everything but post() must be called on the loop's thread.
class event_loop {
 public:
  using clock = detail::loop_clock;
  using duration = detail::loop_duration;
  using time_point = detail::loop_time;

  explicit event_loop(loop_options options = {})
      : owned_backend_(std::make_unique<detail::condvar_backend>()),
        backend_(owned_backend_.get()),
        virtual_time_(options.virtual_time) {}
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;
  ~event_loop() {
    {
      std::lock_guard lock(post_mutex_);  // let a post() in flight finish first
    }
    while (void* b = blocks_) {
      blocks_ = *static_cast<void**>(b);
      ::operator delete(b);
    }
  }

  /// Runs `t` to completion on this thread and returns its result (or
  /// rethrows its exception). Not reentrant.
  template <class T>
  T run(task<T> t);

  /// Runs `fn` on the loop's thread soon. Safe from any thread; this is how
  /// other threads request cancellation (post a call to cancel()).
  void post(std::function<void()> fn) {
    // Wake under the lock: the loop takes the same lock before it can run
    // `fn`, so it cannot finish and be destroyed while wake() is running.
    std::lock_guard lock(post_mutex_);
    posted_.push_back(std::move(fn));
    // seq_cst pairs with the backend clearing its wake-pending flag before
    // the loop looks here again: either the loop sees this post, or the
    // wake below finds the flag clear and really wakes it.
    has_posted_.store(true, std::memory_order_seq_cst);
    backend_->wake();
  }

  /// The loop's current time (virtual time when so configured).
  time_point now() const noexcept { return virtual_time_ ? virtual_now_ : clock::now(); }
  bool virtual_time() const noexcept { return virtual_time_; }

  // --- for awaitables and backends -------------------------------------
  /// Queues a suspended coroutine of the task running in `ctx` to be
  /// resumed by the loop.
  void schedule(std::coroutine_handle<> h, task_context* ctx) {
    // While frames under `dying_` are being destroyed, nothing of theirs
    // may be queued (it would be resumed after its frame is gone).
    if (dying_ != nullptr && ctx != nullptr && ctx->is_within(dying_)) return;
    ready_.push({h, ctx});
  }
  detail::timer_queue& timers() noexcept { return timers_; }

  /// The context of the task running now on this loop, or null between tasks.
  task_context* current_context() const noexcept {
    task_context* c = detail::running_.current;
    return c != nullptr && c->loop == this ? c : nullptr;
  }

  /// For task_scope: frames of tasks within `ctx` are about to be destroyed
  /// (the end of a stop's grace period). Drops their queued resumptions and
  /// refuses new ones until end_teardown(). Returns false if a teardown is
  /// already running (the outer one covers this one).
  bool begin_teardown(task_context* ctx) noexcept {
    if (dying_ != nullptr) return false;
    dying_ = ctx;
    ready_.blank_if([ctx](const detail::ready_item& it) {
      return it.context != nullptr && it.context->is_within(ctx);
    });
    return true;
  }
  void end_teardown() noexcept { dying_ = nullptr; }

  /// Every task_scope on this loop (task_scope::dump walks them).
  void add_scope(detail::loop_scope_node* n) noexcept {
    n->prev_scope = nullptr;
    n->next_scope = scopes_;
    if (scopes_ != nullptr) scopes_->prev_scope = n;
    scopes_ = n;
  }
  void remove_scope(detail::loop_scope_node* n) noexcept {
    (n->prev_scope != nullptr ? n->prev_scope->next_scope : scopes_) = n->next_scope;
    if (n->next_scope != nullptr) n->next_scope->prev_scope = n->prev_scope;
  }
  const detail::loop_scope_node* scopes() const noexcept { return scopes_; }

  /// A cache of equal-sized blocks (task_scope's per-child records), so a
  /// steady state of spawns allocates only the children's frames. Keeps at
  /// most `max_cached_blocks` after a spike.
  void* take_block(std::size_t size) {
    if (void* b = blocks_) {
      blocks_ = *static_cast<void**>(b);
      --cached_blocks_;
      return b;
    }
    return ::operator new(size);
  }
  void give_block(void* b) noexcept {
    if (cached_blocks_ >= max_cached_blocks) {
      ::operator delete(b);
      return;
    }
    *static_cast<void**>(b) = blocks_;
    blocks_ = b;
    ++cached_blocks_;
  }
  static constexpr std::size_t max_cached_blocks = 4096;
  bool in_teardown() const noexcept { return dying_ != nullptr; }

  /// Runs `n.run(&n)` at the end of this turn (once, however often it is
  /// queued before then). The node must stay alive until it has run or
  /// cancel_turn_end() took it back.
  void at_turn_end(detail::turn_end_node& n) noexcept {
    if (n.queued) return;
    n.queued = true;
    n.prev = nullptr;
    n.next = turn_end_;
    if (turn_end_ != nullptr) turn_end_->prev = &n;
    turn_end_ = &n;
  }
  /// Takes back a node queued by at_turn_end() (it does not run).
  void cancel_turn_end(detail::turn_end_node& n) noexcept {
    if (!n.queued) return;
    (n.prev != nullptr ? n.prev->next : turn_end_) = n.next;
    if (n.next != nullptr) n.next->prev = n.prev;
    n.prev = n.next = nullptr;
    n.queued = false;
  }

 protected:
  /// For io_context: a loop whose blocking wait is the given backend.
  event_loop(loop_options options, detail::loop_backend& backend)
      : backend_(&backend), virtual_time_(options.virtual_time) {}

 private:
  void run_posted() {
    if (!has_posted_.load(std::memory_order_seq_cst)) return;
    std::vector<std::function<void()>> batch;
    {
      std::lock_guard lock(post_mutex_);
      batch.swap(posted_);
      has_posted_.store(false, std::memory_order_relaxed);
    }
    for (auto& fn : batch)
      fn();
  }

  // Work queued for the end of the turn; a node queued again while this
  // runs runs again in this turn.
  void run_turn_end() noexcept {
    while (detail::turn_end_node* n = turn_end_) {
      cancel_turn_end(*n);
      n->run(n);
    }
  }

  void fire_due_timers(time_point t) {
    while (detail::timer_node* n = timers_.pop_due(t))
      n->fire(n);
  }

  // One turn: run what is ready, fire due timers, then wait for I/O or time
  // (unless `root` has finished: then run() returns at once).
  void turn(std::coroutine_handle<> root) {
    run_posted();
    for (std::size_t n = ready_.size(); n > 0 && !ready_.empty(); --n) {
      detail::ready_item it = ready_.pop();
      if (it.handle) detail::drive(it.handle, it.context);
    }
    run_turn_end();
    if (root.done()) return;
    // One reading of the clock per turn (a kvm-clock read is ~50 ns): the
    // wait below measures from it too, so it can only end later, never early.
    const time_point t = timers_.empty() ? time_point{} : now();
    fire_due_timers(t);
    if (!ready_.empty() || has_posted_.load(std::memory_order_seq_cst)) {
      // Busy: still look at I/O now and then so it is never starved.
      if (++busy_turns_ % 16 == 0) backend_->wait(duration::zero());
      return;
    }
    busy_turns_ = 0;
    if (timers_.empty()) {
      backend_->wait(duration{-1});
    } else if (virtual_time_) {
      if (backend_->wait(duration::zero()) == 0 && ready_.empty() &&
          !has_posted_.load(std::memory_order_seq_cst)) {
        virtual_now_ = std::max(virtual_now_, timers_.top()->deadline);
      }
    } else {
      backend_->wait_until(timers_.top()->deadline, t);
    }
  }

  std::unique_ptr<detail::loop_backend> owned_backend_;
  detail::loop_backend* backend_;
  detail::ready_queue ready_;
  detail::timer_queue timers_;
  std::mutex post_mutex_;
  std::vector<std::function<void()>> posted_;
  std::atomic<bool> has_posted_{false};
  cancel_source root_source_;
  task_context root_{this, root_source_.token(), nullptr};
  task_context* dying_ = nullptr;
  detail::loop_scope_node* scopes_ = nullptr;
  detail::turn_end_node* turn_end_ = nullptr;
  void* blocks_ = nullptr;
  std::size_t cached_blocks_ = 0;
  time_point virtual_now_{};
  unsigned busy_turns_ = 0;
  bool virtual_time_ = false;
  bool running_ = false;
};

template <class T>
T event_loop::run(task<T> t) {
  // Checked in every build: a nested run() would drive the loop's tasks
  // from inside one of them.
  if (running_) throw error("netaio: event_loop::run called while that loop is already running");
  running_ = true;
  struct reset {
    bool& flag;
    ~reset() { flag = false; }
  } guard{running_};
  detail::check_unstarted(t.handle(), "running");
  auto h = t.handle();
  h.promise().context_ = &root_;
  h.promise().started_ = true;  // a root: nobody to resume
  schedule(h, &root_);
  while (!h.done())
    turn(h);
  return h.promise().result();
}

/// Runs `t` on a new loop on this thread and returns its result.
template <class T>
T run(task<T> t, loop_options options = {}) {
  event_loop loop(options);
  return loop.run(std::move(t));
}

namespace detail {
struct loop_awaiter : context_awaiter {
  event_loop& await_resume() const noexcept { return *ctx->loop; }
};
}  // namespace detail

/// `co_await current_loop()` gives the loop the current task runs on.
inline detail::loop_awaiter current_loop() noexcept {
  return {};
}

}  // namespace netaio::inline v0
