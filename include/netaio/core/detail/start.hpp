// task_scope::start and task_started: the start handshake (Trio's
// nursery.start). Included at the end of task_scope.hpp.
#pragma once

#include <netaio/core/task_scope.hpp>

#include <optional>
#include <type_traits>
#include <variant>

namespace netaio::inline v0 {

namespace detail {

template <class T>
struct start_value_slot : start_slot {
  using value_type = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
  void (*deliver)(start_value_slot*, value_type&&) = nullptr;
};

template <class T, class F>
class start_awaiter : private wait_op, private start_value_slot<T> {
  using value_type = typename start_value_slot<T>::value_type;

 public:
  start_awaiter(task_scope& s, F f, task_name name, source_location where)
      : scope_(&s), f_(std::move(f)), name_(std::move(name)), where_(where) {}
  start_awaiter(const start_awaiter&) = delete;
  start_awaiter& operator=(const start_awaiter&) = delete;
  ~start_awaiter() {
    abandon();  // a pending start whose frame is destroyed: the child is cancelled
  }

  bool await_ready() const noexcept { return false; }
  template <netaio_promise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    if (scope_->closed_) throw scope_closed{};
    if (!bind(h, &on_cancel)) return true;
    child_state* c = scope_->new_child(std::move(name_), where_);
    task<void> t;
    try {
      t = invoke_owned(std::move(f_), task_started<T>{c});
    } catch (...) {
      scope_->recycle(c);
      finish_inline();
      throw;
    }
    this->fail = &on_fail;
    this->deliver = &on_deliver;
    c->starter = this;
    child_ = c;
    auto th = t.release();
    (void)scope_->adopt(th, th.promise(), c);
    return true;
  }
  decltype(auto) await_resume() {
    check();
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<T>) return T(std::move(*value_));
  }

 private:
  static void on_deliver(start_value_slot<T>* s, value_type&& v) {
    auto* self = static_cast<start_awaiter*>(s);
    self->value_.emplace(std::move(v));
    self->child_ = nullptr;
    self->complete();
  }
  static void on_fail(start_slot* s, std::exception_ptr e) noexcept {
    auto* self = static_cast<start_awaiter*>(static_cast<start_value_slot<T>*>(s));
    self->error_ = std::move(e);
    self->child_ = nullptr;
    self->complete();
  }
  // The starter stopped waiting (cancelled, or its frame destroyed): the
  // child it was starting is cancelled too; the scope still joins it.
  static void on_cancel(wait_op* op) noexcept {
    auto* self = static_cast<start_awaiter*>(op);
    if (child_state* c = std::exchange(self->child_, nullptr)) {
      c->starter = nullptr;
      c->source.cancel();
    }
  }

  task_scope* scope_;
  F f_;
  task_name name_;
  source_location where_;
  child_state* child_ = nullptr;
  std::optional<value_type> value_;
  std::exception_ptr error_;
};

}  // namespace detail

/// Handed to a task started with task_scope::start: call it once the task is
/// ready (a server bound its port), with the value the starter receives.
template <class T>
class task_started {
 public:
  /// Tells the starter this task is ready. A second call throws netaio::error.
  template <class U = T>
  requires(!std::is_void_v<T> && std::is_convertible_v<U&&, T>) void operator()(U&& value) const {
    claim();
    if (auto* s =
            static_cast<detail::start_value_slot<T>*>(std::exchange(child_->starter, nullptr)))
      s->deliver(s, T(std::forward<U>(value)));
  }
  void operator()() const requires std::is_void_v<T> {
    claim();
    if (auto* s =
            static_cast<detail::start_value_slot<T>*>(std::exchange(child_->starter, nullptr)))
      s->deliver(s, std::monostate{});
  }

 private:
  template <class, class>
  friend class detail::start_awaiter;
  explicit task_started(detail::child_state* c) noexcept : child_(c) {}
  void claim() const {
    if (child_->started) throw error("netaio: task_started called twice");
    child_->started = true;
  }
  detail::child_state* child_;
};

template <class T, class F>
detail::start_awaiter<T, std::decay_t<F>> task_scope::start(F&& f, task_name name,
                                                            source_location where) {
  static_assert(std::is_invocable_v<std::decay_t<F>&, task_started<T>>,
                "task_scope::start needs a callable taking task_started<T> and returning a task");
  return {*this, std::forward<F>(f), std::move(name), where};
}

}  // namespace netaio::inline v0
