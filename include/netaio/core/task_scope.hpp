// task_scope: a nursery. Every background task is spawned into one; the scope
// can cancel them all and join them all, and never outlives them.
#pragma once

#include <netaio/core/cancellation.hpp>
#include <netaio/core/detail/child_state.hpp>
#include <netaio/core/detail/timer_queue.hpp>
#include <netaio/core/error.hpp>
#include <netaio/core/event_loop.hpp>
#include <netaio/core/sleep.hpp>
#include <netaio/core/source_location.hpp>
#include <netaio/core/task.hpp>
#include <netaio/core/task_handle.hpp>
#include <netaio/core/task_name.hpp>

#include <chrono>
#include <concepts>
#include <cstdio>
#include <exception>
#include <functional>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace netaio::inline v0 {

/// A spawned task's failure, as reported to a supervising scope.
struct child_error {
  std::exception_ptr error;
  std::string_view name;  // as given to spawn(); valid during the report
  source_location where;
};

/// A child that has not finished when a stop's grace period ran out.
struct stuck_task {
  std::string_view name;  // valid during the report
  source_location where;
};

template <class T = void>
class task_started;

namespace detail {
template <class F, class... Args>
using spawn_result_t = std::invoke_result_t<std::decay_t<F>&, std::decay_t<Args>...>;

/// A callable whose call gives a task: the callable form of spawn().
template <class F, class... Args>
concept task_factory = !is_task<std::remove_cvref_t<F>>::value &&
                       std::invocable<std::decay_t<F>&, std::decay_t<Args>...> &&
                       is_task<spawn_result_t<F, Args...>>::value;

/// Keeps the callable (and its arguments) alive in this frame for as long
/// as the task it returns runs: a lambda's captures cannot dangle.
template <class F, class... Args>
task<void> invoke_owned(F f, Args... args) {
  if constexpr (std::is_void_v<typename spawn_result_t<F, Args...>::value_type>) {
    co_await std::invoke(f, std::move(args)...);
  } else {
    (void)co_await std::invoke(f, std::move(args)...);
  }
}

template <class T, class F>
class start_awaiter;
}  // namespace detail

/// Owns spawned tasks. Default error policy (fail-fast): the first failure
/// cancels the siblings, and join() rethrows (one failure as itself, several
/// as task_group_error). supervise() switches to reporting each failure to a
/// callback while the rest keep running.
///
/// A scope created while a task runs belongs to that task, whichever
/// constructor made it: it follows that task's cancellation, and a stop()
/// called from anywhere inside it only cancels. A join() completes only
/// when the scope is empty at that moment: from the instant it sees the
/// scope empty until it returns, spawn() throws scope_closed. After that a
/// scope that was never cancelled can be used again; a cancelled one (stop,
/// cancel, a fail-fast failure) stays closed. Destroying
/// a scope with live children terminates the program with a message, in
/// every build mode; inside a function, prefer with_scope(), which joins on
/// every exit path.
class task_scope : private detail::loop_scope_node {
 public:
  using error_handler = std::function<void(const child_error&)>;
  using stuck_handler = std::function<void(std::span<const stuck_task>)>;

  /// A scope on `loop`. Created while a task of `loop` runs, it is nested in
  /// that task; created outside any task, it is a root, cancelled only
  /// through cancel() or stop().
  explicit task_scope(event_loop& loop, source_location where = source_location::current())
      : task_scope(loop, loop.current_context(), where) {}
  /// A scope nested in the given context (`co_await this_context()`).
  explicit task_scope(task_context& parent, source_location where = source_location::current())
      : task_scope(*parent.loop, &parent, where) {}
  /// A scope nested in another scope, following its cancellation.
  explicit task_scope(task_scope& parent, source_location where = source_location::current())
      : task_scope(*parent.context_.loop, &parent.context_, where) {}

  task_scope(const task_scope&) = delete;
  task_scope& operator=(const task_scope&) = delete;
  ~task_scope();

  /// Switches to the supervising policy: each failure goes to `on_error`,
  /// nothing else is cancelled. If `on_error` throws, that error is treated
  /// as fail-fast (siblings cancelled, rethrown by join).
  task_scope& supervise(error_handler on_error) {
    on_error_ = std::move(on_error);
    return *this;
  }
  /// Called once when stop()'s grace period expires with children still
  /// running, just before their frames are destroyed (the default prints
  /// them to stderr). Never called with an empty list.
  task_scope& on_stuck(stuck_handler handler) {
    on_stuck_ = std::move(handler);
    return *this;
  }

  /// Starts `t` as a child of this scope on its next loop turn. The scope
  /// owns it from now on; its result is discarded. Throws invalid_task for
  /// an empty or already started task, scope_closed after join/stop.
  template <class T>
  task_handle spawn(task<T> t, task_name name = {},
                    source_location where = source_location::current()) {
    detail::check_unstarted(t.handle(), "spawning");
    auto h = t.release();
    return attach(h, h.promise(), std::move(name), where);
  }
  /// Calls `f()` and runs the task it returns as a child, keeping `f` alive
  /// (moved into the child) until it ends: the safe way to spawn a lambda
  /// with captures, where `spawn(lambda())` would leave the coroutine with a
  /// dangling closure once the temporary lambda is gone.
  template <class F>
  requires detail::task_factory<F> task_handle
  spawn(F&& f, task_name name = {}, source_location where = source_location::current()) {
    return spawn_call(std::move(name), where, std::forward<F>(f));
  }
  /// The callable form with arguments (moved into the child too). It has
  /// no place for a defaulted spawn site, so reports show none: use the
  /// named form below to get one.
  template <class F, class A, class... Args>
  requires detail::task_factory<F, A, Args...> task_handle spawn(F&& f, A&& a, Args&&... args) {
    return spawn_call(task_name{}, source_location{}, std::forward<F>(f), std::forward<A>(a),
                      std::forward<Args>(args)...);
  }
  /// The callable form with arguments, named; the spawn site is the line
  /// that wrote the name.
  template <class F, class... Args>
  requires detail::task_factory<F, Args...> task_handle spawn(detail::located_name name, F&& f,
                                                              Args&&... args) {
    return spawn_call(std::move(name.name), name.where, std::forward<F>(f),
                      std::forward<Args>(args)...);
  }

  /// Trio's nursery.start: runs `f(task_started<T>)` as a child and waits
  /// until it calls started(value) (e.g. once a server is bound), giving
  /// that value. A failure before started() is thrown here, not at join;
  /// ending without started() throws netaio::error; if the caller is
  /// cancelled meanwhile, the child is cancelled too (and still joined by
  /// the scope).
  template <class T = void, class F>
  detail::start_awaiter<T, std::decay_t<F>> start(
      F&& f, task_name name = {}, source_location where = source_location::current());

  /// Requests cancellation of every child, now and later. Idempotent.
  void cancel() noexcept { source_.cancel(); }
  bool cancelled() const noexcept { return source_.cancelled(); }
  /// Closed: spawn() throws scope_closed (see the class comment).
  bool closed() const noexcept { return closed_; }
  /// Children still alive.
  std::size_t size() const noexcept { return live_; }
  /// The first failure (fail-fast policy), or null.
  std::exception_ptr first_error() const noexcept { return first_error_; }
  /// Every failure seen so far (fail-fast policy), first one first.
  std::vector<std::exception_ptr> errors() const {
    std::vector<std::exception_ptr> all;
    if (first_error_) all.push_back(first_error_);
    all.insert(all.end(), more_errors_.begin(), more_errors_.end());
    return all;
  }
  /// The context children run in (their cancellation follows this scope's).
  task_context& context() noexcept { return context_; }
  event_loop& loop() const noexcept { return *context_.loop; }
  /// The live task tree under this scope, one line per task or scope, with
  /// names and spawn sites: for diagnostics.
  std::string dump() const;

  class join_awaiter;
  class stop_awaiter;

  /// Waits until every child's frame is destroyed.
  /// If the awaiting task is cancelled meanwhile, the scope is cancelled
  /// and the join still waits (children are never abandoned), then throws
  /// operation_cancelled. Rethrows child failures under the fail-fast policy.
  join_awaiter join() noexcept;

  /// cancel() + join(), bounded: children still alive when `grace` runs out
  /// are reported by name and spawn site (on_stuck) and their frames are
  /// destroyed — their destructors run, but no catch block or code after
  /// their current suspension point — so stop returns within the grace
  /// plus one loop turn. Called from inside one of its own children, it only
  /// cancels and returns: the scope's owner completes the join.
  stop_awaiter stop(event_loop::duration grace = std::chrono::seconds(5)) noexcept;

 private:
  template <class T, class F>
  friend class detail::start_awaiter;
  template <class T>
  friend class task_started;

  struct joiner {
    joiner* next = nullptr;
    std::coroutine_handle<> handle;
    task_context* context = nullptr;
    bool woken = false;  // queued to resume: the scope stays closed until it has
  };

  task_scope(event_loop& loop, task_context* parent, source_location where)
      : source_(parent != nullptr ? parent->token : cancel_token{}),
        context_{&loop, source_.token(), parent, this},
        where_(where) {
    // If the task this scope belongs to ends first, the scope becomes a
    // root rather than keep a pointer into that task's frame.
    source_.on_parent_gone(
        [](void* self) noexcept { static_cast<task_scope*>(self)->context_.parent = nullptr; },
        this);
    loop.add_scope(this);
  }

  template <class F, class... Args>
  task_handle spawn_call(task_name name, source_location where, F&& f, Args&&... args) {
    if (closed_) throw scope_closed{};
    return spawn(detail::invoke_owned(std::forward<F>(f), std::forward<Args>(args)...),
                 std::move(name), where);
  }

  detail::child_state* new_child(task_name name, source_location where) {
    void* mem = context_.loop->take_block(sizeof(detail::child_state));
    auto* c = ::new (mem) detail::child_state(this, context_, std::move(name), where);
    c->done = &task_scope::on_child_done;
    return c;
  }
  void recycle(detail::child_state* c) noexcept {
    c->~child_state();
    context_.loop->give_block(c);
  }

  task_handle attach(std::coroutine_handle<> h, detail::promise_base& p, task_name name,
                     source_location where) {
    if (closed_) {
      h.destroy();
      throw scope_closed{};
    }
    detail::child_state* c;
    try {
      c = new_child(std::move(name), where);
    } catch (...) {
      h.destroy();
      throw;
    }
    return adopt(h, p, c);
  }

  // Links a not-yet-started coroutine to its record and queues it.
  task_handle adopt(std::coroutine_handle<> h, detail::promise_base& p,
                    detail::child_state* c) noexcept {
    c->handle = h;
    p.context_ = &c->context;
    p.started_ = true;
    p.child_ = c;
    c->prev = nullptr;
    c->next = head_;
    if (head_ != nullptr) head_->prev = c;
    head_ = c;
    ++live_;
    context_.loop->schedule(h, &c->context);
    return task_handle{c};
  }

  static std::coroutine_handle<> on_child_done(detail::child_hook* hook, detail::promise_base& p,
                                               std::coroutine_handle<> h) noexcept {
    auto* c = static_cast<detail::child_state*>(hook);
    const bool cancelled = p.cancelled_;
    std::exception_ptr e = std::move(p.exception_);
    h.destroy();  // the frame is gone before anyone can observe the child ended
    c->scope->finish_child(c, std::move(e), cancelled);
    return std::noop_coroutine();
  }

  void unlink(detail::child_state* c) noexcept {
    (c->prev != nullptr ? c->prev->next : head_) = c->next;
    if (c->next != nullptr) c->next->prev = c->prev;
    c->prev = c->next = nullptr;
  }

  void finish_child(detail::child_state* c, std::exception_ptr e, bool cancelled) noexcept {
    unlink(c);
    --live_;
    if (c->handle_object != nullptr) c->handle_object->child_ = nullptr;
    detail::wake_child_waiters(*c);
    if (detail::start_slot* s = std::exchange(c->starter, nullptr)) {
      // Nobody heard started(): the starter gets the outcome, the scope not.
      if (!e) {
        e = cancelled || c->source.cancelled()
                ? std::make_exception_ptr(operation_cancelled{})
                : std::make_exception_ptr(error("netaio: task ended without calling started()"));
      }
      s->fail(s, std::move(e));
      e = nullptr;
    }
    // A cancellation asked for (of the scope, or of this child through its
    // handle or its starter) is how children end, not a failure.
    if (e && !(cancelled && c->source.cancelled())) {
      record(child_error{std::move(e), c->name.view(), c->where});
    }
    recycle(c);
    if (live_ == 0) emptied();
  }

  void record(const child_error& report) noexcept {
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

  // The last child ended. If a join waits, it has seen the scope empty: the
  // scope closes now, so no spawn can slip in before the joiner resumes.
  void emptied() noexcept {
    if (joiners_ == nullptr) return;
    closed_ = true;
    while (joiner* j = joiners_) {
      joiners_ = j->next;
      j->woken = true;
      ++pending_wakes_;
      context_.loop->schedule(j->handle, j->context);
    }
  }
  // A woken joiner resumed (or its frame was destroyed): once none is left,
  // a scope that was never cancelled opens again.
  void settle_wake() noexcept {
    if (--pending_wakes_ == 0 && !source_.cancelled()) closed_ = false;
  }
  // A join that found the scope empty without waiting leaves it closed only
  // if it was cancelled.
  void joined_at_once() noexcept {
    if (source_.cancelled()) closed_ = true;
  }

  void remove_joiner(joiner* j) noexcept {
    for (joiner** p = &joiners_; *p != nullptr; p = &(*p)->next) {
      if (*p == j) {
        *p = j->next;
        return;
      }
    }
  }

  void rethrow_failures() const {
    if (first_error_) detail::rethrow_all(errors());
  }

  void report_stuck() {
    std::vector<stuck_task> stuck;
    for (detail::child_state* c = head_; c != nullptr; c = c->next)
      stuck.push_back({c->name.view(), c->where});
    if (stuck.empty()) return;
    if (on_stuck_) {
      on_stuck_(stuck);
      return;
    }
    for (const stuck_task& s : stuck) {
      std::fprintf(stderr,
                   "netaio: task_scope::stop: task %.*s spawned at %s:%u ignored cancellation for "
                   "the whole grace period; destroying its frame\n",
                   static_cast<int>(s.name.empty() ? 9 : s.name.size()),
                   s.name.empty() ? "(unnamed)" : s.name.data(), s.where.file, s.where.line);
    }
  }

  // Destroys every child's frame (the end of a stop's grace period, or the
  // destruction of a frame that owns this scope at such a time). Their
  // awaiters leave whatever they wait in as they are destroyed, and
  // nothing of theirs stays queued on the loop.
  void destroy_children() noexcept {
    const bool outermost = context_.loop->begin_teardown(&context_);
    while (detail::child_state* c = head_) {
      std::coroutine_handle<> h = std::exchange(c->handle, {});
      h.destroy();
      finish_child(c, nullptr, true);
    }
    if (outermost) context_.loop->end_teardown();
  }

  /// True if a task inside this scope waits (a scope's join, a task
  /// handle's join) for something that contains `x`. One step of the
  /// wait-for graph: what stop() needs for the circle of seed 000 built
  /// across separate scopes. O(scopes + children on the loop), so it runs
  /// for stop(), not for every join().
  bool awaited_from_inside(const task_context* x) const noexcept {
    for (const detail::loop_scope_node* n = loop().scopes(); n != nullptr; n = n->next_scope) {
      const auto* other = static_cast<const task_scope*>(n);
      if (other == this) continue;
      if (x->is_within(&other->context_)) {
        for (const joiner* j = other->joiners_; j != nullptr; j = j->next)
          if (j->context != nullptr && j->context->is_within(&context_)) return true;
      }
      for (const detail::child_state* c = other->head_; c != nullptr; c = c->next) {
        if (!x->is_within(&c->context)) continue;
        for (const detail::child_waiter* w = c->waiters; w != nullptr; w = w->next)
          if (w->context() != nullptr && w->context()->is_within(&context_)) return true;
      }
    }
    return false;
  }

  void grace_expired() noexcept {
    if (live_ == 0) return;
    try {
      report_stuck();
    } catch (...) {
      // Reporting is best effort; the frames are destroyed all the same.
    }
    destroy_children();
  }

  void dump_into(std::string& out, int depth) const;

  cancel_source source_;
  task_context context_;
  source_location where_;
  detail::child_state* head_ = nullptr;
  std::size_t live_ = 0;
  std::size_t pending_wakes_ = 0;
  joiner* joiners_ = nullptr;
  std::exception_ptr first_error_;
  std::vector<std::exception_ptr> more_errors_;
  error_handler on_error_;
  stuck_handler on_stuck_;
  bool closed_ = false;
};

inline task_scope::~task_scope() {
  if (live_ > 0) {
    if (context_.loop->in_teardown()) {
      destroy_children();  // our owner's frame is being destroyed by a stop
    } else {
      std::string what = "task_scope destroyed with live children (join or stop it first, or ";
      what += "use with_scope); the scope was created at ";
      what += where_.file;
      what += ":" + std::to_string(where_.line) + "; live:\n" + dump();
      detail::fatal(what.c_str());
    }
  }
  context_.loop->remove_scope(this);
}

class task_scope::join_awaiter : private detail::cancel_node {
 public:
  explicit join_awaiter(task_scope& s) noexcept : scope_(&s) {}
  // Movable until awaited (e.g. into shield's task), never after.
  join_awaiter(join_awaiter&&) = default;
  join_awaiter& operator=(join_awaiter&&) = delete;
  ~join_awaiter() {
    unregister();
    if (self_.woken) {
      scope_->settle_wake();
    } else if (waiting_) {
      scope_->remove_joiner(&self_);
    }
  }

  bool await_ready() const noexcept { return false; }
  template <detail::netaio_promise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    caller_ = h.promise().context_;
    if (caller_->is_within(&scope_->context_)) {
      throw self_join(
          "netaio: task_scope::join called from one of its own children would never end");
    }
    return wait(h);
  }
  void await_resume() {
    settle();
    scope_->rethrow_failures();
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
    if (scope_->live_ == 0) {
      scope_->joined_at_once();
      if (!caller_->token.cancelled()) return false;
      // Resumed through the loop to throw operation_cancelled, as every
      // cancelled wait is: a task that catches it in a loop cannot starve
      // the others.
      caller_->loop->schedule(h, caller_);
      return true;
    }
    self_.handle = h;
    self_.context = caller_;
    self_.next = scope_->joiners_;
    scope_->joiners_ = &self_;
    waiting_ = true;
    return true;
  }
  void unregister() noexcept {
    if (source_ != nullptr) {
      source_->remove(this);
      source_ = nullptr;
    }
  }
  void settle() noexcept {
    waiting_ = false;
    unregister();
    if (self_.woken) {
      self_.woken = false;
      scope_->settle_wake();
    }
  }

  task_scope* scope_;
  task_context* caller_ = nullptr;
  bool waiting_ = false;

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
    // A child stopping its own scope, or a task that a child waits for:
    // waiting here would close a circle (seed 000), so this stop only
    // cancels, and the owner's join (or an outside stop) completes it.
    if (caller_->is_within(&scope_->context_) || scope_->awaited_from_inside(caller_)) {
      inside_ = true;
      return false;
    }
    if (!wait(h)) return false;
    deadline = detail::saturating_add(scope_->loop().now(), grace_);
    fire = [](detail::timer_node* n) noexcept {
      static_cast<stop_awaiter*>(n)->scope_->grace_expired();
    };
    scope_->loop().timers().push(this);
    return true;
  }
  /// Rethrows child failures (fail-fast policy); never throws
  /// operation_cancelled, since stop is what cleanup calls.
  void await_resume() {
    if (armed()) scope_->loop().timers().erase(this);
    settle();
    if (!inside_) scope_->rethrow_failures();
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

inline void task_scope::dump_into(std::string& out, int depth) const {
  const std::string pad(static_cast<std::size_t>(depth) * 2, ' ');
  out += pad + "scope created at " + where_.file + ":" + std::to_string(where_.line) + " (" +
         std::to_string(live_) + " live" + (cancelled() ? ", cancelled" : "") + ")\n";
  for (const detail::child_state* c = head_; c != nullptr; c = c->next) {
    out += pad + "  task " +
           (c->name.empty() ? std::string("(unnamed)") : std::string(c->name.view()));
    if (c->where.line != 0)
      out += std::string(" spawned at ") + c->where.file + ":" + std::to_string(c->where.line);
    out += "\n";
    // Scopes whose nearest enclosing task is this child.
    for (const detail::loop_scope_node* n = loop().scopes(); n != nullptr; n = n->next_scope) {
      const auto* s = static_cast<const task_scope*>(n);
      const task_context* p = s->context_.parent;
      while (p != nullptr && p->scope == nullptr &&
             !(p->parent != nullptr && p->parent->scope != nullptr))
        p = p->parent;
      if (p == &c->context) s->dump_into(out, depth + 2);
    }
  }
}

inline std::string task_scope::dump() const {
  std::string out;
  dump_into(out, 0);
  return out;
}

}  // namespace netaio::inline v0

#include <netaio/core/detail/start.hpp>
