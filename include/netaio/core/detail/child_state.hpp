// What a task_scope keeps for each spawned child: its place in the scope's
// list, its name and spawn site, its own cancellation (so one child can be
// cancelled alone), and who waits for it to end.
#pragma once

#include <netaio/core/cancellation.hpp>
#include <netaio/core/detail/wait_op.hpp>
#include <netaio/core/source_location.hpp>
#include <netaio/core/task.hpp>
#include <netaio/core/task_context.hpp>
#include <netaio/core/task_name.hpp>

#include <coroutine>
#include <exception>

namespace netaio::inline v0 {

class task_handle;
class task_scope;

namespace detail {

struct child_waiter;

/// A start() waiting for its child to call started(): told if the child
/// ends (or is destroyed) first.
struct start_slot {
  void (*fail)(start_slot*, std::exception_ptr) noexcept = nullptr;
};

struct child_state : child_hook {
  child_state(task_scope* owner, task_context& scope_context, task_name n,
              source_location w) noexcept
      : scope(owner),
        name(std::move(n)),
        where(w),
        source(scope_context.token),
        context{scope_context.loop, source.token(), &scope_context, nullptr} {}

  child_state* prev = nullptr;
  child_state* next = nullptr;
  task_scope* scope;
  std::coroutine_handle<> handle;
  task_name name;
  source_location where;
  cancel_source source;  // follows the scope's; cancelled alone by a handle
  task_context context;
  task_handle* handle_object = nullptr;  // the handle spawn() returned, while alive
  child_waiter* waiters = nullptr;       // tasks awaiting this child's end
  start_slot* starter = nullptr;         // a start() not yet answered
  bool started = false;                  // started() was called
};

/// A task waiting for one child to end (task_handle::join).
struct child_waiter : wait_op {
  child_waiter* prev = nullptr;
  child_waiter* next = nullptr;
  child_state* child = nullptr;

  void link_to(child_state* c) noexcept {
    child = c;
    prev = nullptr;
    next = c->waiters;
    if (next != nullptr) next->prev = this;
    c->waiters = this;
  }
  void unlink() noexcept {
    if (child == nullptr) return;
    (prev != nullptr ? prev->next : child->waiters) = next;
    if (next != nullptr) next->prev = prev;
    prev = next = nullptr;
    child = nullptr;
  }
  static void on_cancel(wait_op* op) noexcept { static_cast<child_waiter*>(op)->unlink(); }
};

/// The child has ended: every waiter resumes.
inline void wake_child_waiters(child_state& c) noexcept {
  while (child_waiter* w = c.waiters) {
    w->unlink();
    w->complete();
  }
}

}  // namespace detail
}  // namespace netaio::inline v0
