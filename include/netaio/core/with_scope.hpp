// with_scope: the block form of a task_scope (Trio's `async with
// open_nursery()`, Kotlin's coroutineScope {}): the scope is joined on every
// way out of the block, so no exception or cancellation can leave a child
// behind or destroy an unjoined scope.
#pragma once

#include <netaio/core/task.hpp>
#include <netaio/core/task_scope.hpp>

#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace netaio::inline v0 {

namespace detail {
template <class F>
using scope_body_t = typename std::invoke_result_t<F&, task_scope&>::value_type;

/// The end of a block scope, after its join: throws what the block and the
/// scope's children left (one failure as itself, several as
/// task_group_error, else a cancellation as operation_cancelled). For
/// with_scope and for coroutines that open a scope in their own frame.
inline void end_block_scope(task_scope& scope, std::exception_ptr body_error, bool cancelled) {
  std::vector<std::exception_ptr> failures;
  if (body_error) failures.push_back(std::move(body_error));
  for (std::exception_ptr& e : scope.errors())
    failures.push_back(std::move(e));
  if (!failures.empty()) rethrow_all(std::move(failures));
  if (cancelled) throw operation_cancelled{};
}
}  // namespace detail

/// Runs `body(scope)` with a fresh scope nested in the current task, then
/// joins the scope whatever happened: the body returning (children run on
/// until they end), throwing (children are cancelled first) or being
/// cancelled. Gives the body's value. Failures are thrown after the join:
/// one as itself, several (the body's and the children's) as
/// task_group_error; a cancellation with no other failure as
/// operation_cancelled. The callable is moved into the task, so its
/// captures live as long as the block.
template <class F>
requires std::is_invocable_v<F&, task_scope&> &&
    detail::is_task<std::invoke_result_t<F&, task_scope&>>::value task<detail::scope_body_t<F>>
    with_scope(F body, source_location where = source_location::current()) {
  using T = detail::scope_body_t<F>;
  task_scope scope{co_await this_context(), where};
  std::conditional_t<std::is_void_v<T>, bool, std::optional<T>> value{};
  std::exception_ptr body_error;
  bool body_cancelled = false;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::invoke(body, scope);
    } else {
      value.emplace(co_await std::invoke(body, scope));
    }
  } catch (...) {
    body_cancelled = detail::current_exception_is_cancellation();
    if (!body_cancelled) body_error = std::current_exception();
    scope.cancel();
  }
  bool join_cancelled = false;
  try {
    co_await scope.join();
  } catch (...) {
    join_cancelled = detail::current_exception_is_cancellation();
  }
  detail::end_block_scope(scope, std::move(body_error), body_cancelled || join_cancelled);
  if constexpr (!std::is_void_v<T>) co_return std::move(*value);
}

/// `co_await current_scope()`: the nearest task_scope the current task runs
/// in (the one that spawned it, or one it is nested in), or null for a task
/// outside every scope.
inline auto current_scope() noexcept {
  struct awaiter : detail::context_awaiter {
    task_scope* await_resume() const noexcept { return ctx->enclosing_scope(); }
  };
  return awaiter{};
}

}  // namespace netaio::inline v0
