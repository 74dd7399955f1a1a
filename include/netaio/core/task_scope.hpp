// task_scope: a nursery. Every background task is spawned into one; the scope
// can cancel them all and join them all, and never outlives them.
#pragma once

#include <netaio/core/cancellation.hpp>
#include <netaio/core/detail/timer_queue.hpp>
#include <netaio/core/error.hpp>
#include <netaio/core/event_loop.hpp>
#include <netaio/core/sleep.hpp>
#include <netaio/core/source_location.hpp>
#include <netaio/core/task.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <span>
#include <utility>
#include <vector>

namespace netaio::inline v0 {

/// A spawned task's failure, as reported to a supervising scope.
struct child_error {
  std::exception_ptr error;
  const char* name;  // as given to spawn(), or nullptr
  source_location where;
};

/// A child that has not finished when a stop's grace period ran out.
struct stuck_task {
  const char* name;
  source_location where;
};

/// Owns spawned tasks. Default error policy (fail-fast): the first failure
/// cancels the siblings, and join() rethrows it once all are done; every
/// failure stays available in errors(). supervise() switches to reporting
/// each failure to a callback while the rest keep running.
class task_scope : private detail::child_owner {
 public:
  using error_handler = std::function<void(const child_error&)>;
  using stuck_handler = std::function<void(std::span<const stuck_task>)>;

  /// A root scope on `loop`: cancelled only through cancel() or stop().
  explicit task_scope(event_loop& loop) : context_{&loop, source_.token(), nullptr} { init(); }
  /// A scope nested in the current task (`co_await this_context()`): it is
  /// cancelled whenever that task's cancellation is requested.
  explicit task_scope(task_context& parent)
      : source_(parent.token), context_{parent.loop, source_.token(), &parent} {
    init();
  }
  /// A scope nested in another scope, following its cancellation.
  explicit task_scope(task_scope& parent) : task_scope(parent.context_) {}

  task_scope(const task_scope&) = delete;
  task_scope& operator=(const task_scope&) = delete;
  ~task_scope() {
    NETAIO_ASSERT(live_ == 0, "task_scope destroyed with live children (join or stop it first)");
  }

  /// Switches to the supervising policy: each failure goes to `on_error`,
  /// nothing else is cancelled. If `on_error` throws, that error is treated
  /// as fail-fast (siblings cancelled, rethrown by join).
  task_scope& supervise(error_handler on_error) {
    on_error_ = std::move(on_error);
    return *this;
  }
  /// Called once when stop()'s grace period expires with children still
  /// running (the default prints them to stderr).
  task_scope& on_stuck(stuck_handler handler) {
    on_stuck_ = std::move(handler);
    return *this;
  }

  /// Starts `t` as a child of this scope on its next loop turn. The scope
  /// owns it from now on; its result is discarded.
  template <class T>
  void spawn(task<T> t, const char* name = nullptr,
             source_location where = source_location::current()) {
    NETAIO_ASSERT(t.valid(), "spawning an empty task");
    auto h = t.release();
    detail::promise_base& p = h.promise();
    p.context_ = &context_;
    p.state_ = detail::start_state::suspended;
    p.link_.owner = this;
    p.link_.name = name;
    p.link_.where = where;
    p.link_.prev = nullptr;
    p.link_.next = head_;
    if (head_ != nullptr) head_->prev = &p.link_;
    head_ = &p.link_;
    ++live_;
    context_.loop->schedule(h);
  }

  /// Requests cancellation of every child, now and later. Idempotent.
  void cancel() noexcept { source_.cancel(); }
  bool cancelled() const noexcept { return source_.cancelled(); }
  /// Children still alive.
  std::size_t size() const noexcept { return live_; }
  /// The first failure (fail-fast policy), or null: what join() rethrows.
  std::exception_ptr first_error() const noexcept { return first_error_; }
  /// Every failure seen so far (fail-fast policy), first one first.
  std::vector<std::exception_ptr> errors() const {
    std::vector<std::exception_ptr> all;
    if (first_error_) all.push_back(first_error_);
    all.insert(all.end(), more_errors_.begin(), more_errors_.end());
    return all;
  }
  /// The context children run in (their cancellation is this scope's).
  task_context& context() noexcept { return context_; }
  event_loop& loop() const noexcept { return *context_.loop; }

  class join_awaiter;
  class stop_awaiter;

  /// Waits until every child's frame is destroyed. If the awaiting task is
  /// cancelled meanwhile, the scope is cancelled and the join still waits
  /// (children are never abandoned), then throws operation_cancelled.
  /// Rethrows the first child failure under the fail-fast policy.
  join_awaiter join() noexcept;

  /// cancel() + join(), reporting stuck children if they outlive `grace`.
  /// Called from inside one of its own children, it only cancels and
  /// returns: the scope's owner completes the join (no self-join deadlock).
  stop_awaiter stop(event_loop::duration grace = std::chrono::seconds(5)) noexcept;

 private:
  struct joiner {
    joiner* next = nullptr;
    std::coroutine_handle<> handle;
  };

  void init() noexcept { child_done_ = &task_scope::on_child_done; }

  static std::coroutine_handle<> on_child_done(detail::child_owner* owner, detail::promise_base& p,
                                               std::coroutine_handle<> h) noexcept {
    auto* self = static_cast<task_scope*>(owner);
    detail::child_link& l = p.link_;
    if (l.prev != nullptr) {
      l.prev->next = l.next;
    } else {
      self->head_ = l.next;
    }
    if (l.next != nullptr) l.next->prev = l.prev;
    const bool cancelled = p.cancelled_;
    child_error report{std::move(p.exception_), l.name, l.where};
    h.destroy();  // the frame is gone before anyone can observe the child ended
    --self->live_;
    if (report.error) self->record(report, cancelled);
    if (self->live_ == 0) self->wake_joiners();
    return std::noop_coroutine();
  }

  void record(const child_error& report, bool cancelled) noexcept {
    // A cancellation that this scope asked for is how children end, not a failure.
    if (cancelled && source_.cancelled()) return;
    if (on_error_) {
      try {
        on_error_(report);
        return;
      } catch (...) {
        fail(std::current_exception());
        return;
      }
    }
    fail(report.error);
  }

  void fail(std::exception_ptr e) noexcept {
    // The first failure needs no allocation, so it is never lost; a later one
    // may be, only if memory runs out while recording it.
    if (!first_error_) {
      first_error_ = std::move(e);
    } else {
      try {
        more_errors_.push_back(std::move(e));
      } catch (...) {
      }
    }
    source_.cancel();
  }

  void wake_joiners() {
    while (joiners_ != nullptr) {
      joiner* j = joiners_;
      joiners_ = j->next;
      context_.loop->schedule(j->handle);
    }
  }

  void report_stuck() {
    std::vector<stuck_task> stuck;
    for (detail::child_link* l = head_; l != nullptr; l = l->next) {
      stuck.push_back({l->name, l->where});
    }
    if (on_stuck_) {
      on_stuck_(stuck);
      return;
    }
    for (const stuck_task& s : stuck) {
      std::fprintf(stderr,
                   "netaio: task_scope::stop: task %s spawned at %s:%u ignores cancellation and "
                   "has not finished\n",
                   s.name != nullptr ? s.name : "(unnamed)", s.where.file, s.where.line);
    }
  }

  cancel_source source_;
  task_context context_;
  detail::child_link* head_ = nullptr;
  std::size_t live_ = 0;
  joiner* joiners_ = nullptr;
  std::exception_ptr first_error_;
  std::vector<std::exception_ptr> more_errors_;
  error_handler on_error_;
  stuck_handler on_stuck_;
};

class task_scope::join_awaiter : private detail::cancel_node {
 public:
  explicit join_awaiter(task_scope& s) noexcept : scope_(&s) {}
  join_awaiter(const join_awaiter&) = delete;
  join_awaiter& operator=(const join_awaiter&) = delete;
  ~join_awaiter() { unregister(); }

  bool await_ready() const noexcept { return false; }
  template <detail::netaio_promise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    caller_ = h.promise().context_;
    if (caller_->is_within(&scope_->context_)) {
      throw error("netaio: task_scope::join called from one of its own children would never end");
    }
    return wait(h);
  }
  void await_resume() {
    unregister();
    if (scope_->first_error_) std::rethrow_exception(scope_->first_error_);
    if (caller_ != nullptr) caller_->token.throw_if_cancelled();
  }

 protected:
  bool wait(std::coroutine_handle<> h) {
    // The caller's cancellation becomes the scope's; the wait goes on.
    if (cancel_source* s = caller_->token.source(); s != nullptr && s != &scope_->source_) {
      invoke_ = [](detail::cancel_node* n) noexcept {
        auto* self = static_cast<join_awaiter*>(n);
        self->source_ = nullptr;
        self->scope_->cancel();
      };
      if (s->add(this)) {
        source_ = s;
      } else {
        scope_->cancel();
      }
    }
    if (scope_->live_ == 0) return false;
    self_.handle = h;
    self_.next = scope_->joiners_;
    scope_->joiners_ = &self_;
    return true;
  }
  void unregister() noexcept {
    if (source_ != nullptr) {
      source_->remove(this);
      source_ = nullptr;
    }
  }

  task_scope* scope_;
  task_context* caller_ = nullptr;

 private:
  cancel_source* source_ = nullptr;
  joiner self_;
};

class task_scope::stop_awaiter : private join_awaiter, private detail::timer_node {
 public:
  stop_awaiter(task_scope& s, event_loop::duration grace) noexcept
      : join_awaiter(s), grace_(grace) {}
  ~stop_awaiter() {
    if (armed()) scope_->loop().timers().erase(this);
  }

  using join_awaiter::await_ready;
  template <detail::netaio_promise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    caller_ = h.promise().context_;
    scope_->cancel();
    if (caller_->is_within(&scope_->context_)) {
      inside_ = true;  // a child stopping its own scope: the owner joins
      return false;
    }
    if (!wait(h)) return false;
    deadline = detail::saturating_add(scope_->loop().now(), grace_);
    fire = [](detail::timer_node* n) noexcept {
      auto* self = static_cast<stop_awaiter*>(n);
      try {
        self->scope_->report_stuck();
      } catch (...) {
        // Reporting is best effort; the join still completes.
      }
    };
    scope_->loop().timers().push(this);
    return true;
  }
  /// Rethrows the first child failure (fail-fast policy); never throws
  /// operation_cancelled, since stop is what cleanup calls.
  void await_resume() {
    if (armed()) scope_->loop().timers().erase(this);
    unregister();
    if (!inside_ && scope_->first_error_) std::rethrow_exception(scope_->first_error_);
  }

 private:
  event_loop::duration grace_;
  bool inside_ = false;
};

inline task_scope::join_awaiter task_scope::join() noexcept {
  return join_awaiter{*this};
}
inline task_scope::stop_awaiter task_scope::stop(event_loop::duration grace) noexcept {
  return stop_awaiter{*this, grace};
}

}  // namespace netaio::inline v0
