// What a running task inherits from whoever started it.
#pragma once

#include <netaio/core/cancellation.hpp>

namespace netaio::inline v0 {

class event_loop;
class task_scope;

/// The loop a task runs on, the cancellation it obeys, and the context it is
/// nested in. Every suspension point reads it from the awaiting task.
struct task_context {
  event_loop* loop = nullptr;
  cancel_token token;
  task_context* parent = nullptr;
  /// Set on a scope's own context only: children's contexts point at it.
  task_scope* scope = nullptr;

  /// True if `ancestor` is this context or one it is nested in.
  bool is_within(const task_context* ancestor) const noexcept {
    for (const task_context* c = this; c != nullptr; c = c->parent) {
      if (c == ancestor) return true;
    }
    return false;
  }
  /// The nearest scope this context belongs to, or null for a root task.
  task_scope* enclosing_scope() const noexcept {
    for (const task_context* c = this; c != nullptr; c = c->parent) {
      if (c->scope != nullptr) return c->scope;
    }
    return nullptr;
  }
};

}  // namespace netaio::inline v0
