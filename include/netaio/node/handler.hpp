// Handlers: what a user registers (a plain function or a coroutine, given the
// message and the connection, answering with a message or nothing), and the
// one type-erased shape the router stores them in.
#pragma once

#include <netaio/core/task.hpp>
#include <netaio/wire/concepts.hpp>

#include <concepts>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace netaio::inline v0 {

/// What calling a handler gave: an answer now, or a coroutine still to await
/// for it. Plain handlers never allocate a coroutine frame.
template <message_protocol M>
struct handler_call {
  /// The answer of a plain handler (nullopt: none).
  std::optional<M> reply;
  /// A coroutine handler's work, valid() only for those; await it for the answer.
  task<std::optional<M>> pending;
};

namespace detail {

// What a handler may give back: nothing, a message, or an optional message.
template <class R, class M>
concept handler_value = std::is_void_v<R> || std::same_as<std::remove_cvref_t<R>, M> ||
    std::same_as<std::remove_cvref_t<R>, std::optional<M>> ||
    std::same_as<std::remove_cvref_t<R>, std::nullopt_t>;

template <class R, class M>
struct handler_result_ok : std::bool_constant<handler_value<R, M>> {};
template <class T, class M>
struct handler_result_ok<task<T>, M> : std::bool_constant<handler_value<T, M>> {};

// The handler's result type, called with (message, connection) or with the
// message alone.
template <class F, class M, class C>
auto invoke_handler(F& f, M& m, C& c) {
  if constexpr (std::is_invocable_v<F&, M&, C&>) {
    return std::invoke(f, m, c);
  } else {
    return std::invoke(f, m);
  }
}

template <class M, class T>
task<std::optional<M>> adapt_handler_task(task<T> t) {
  if constexpr (std::is_void_v<T>) {
    co_await std::move(t);
    co_return std::nullopt;
  } else {
    co_return std::optional<M>(co_await std::move(t));
  }
}

template <class F, class M, class C>
using handler_result_t =
    decltype(invoke_handler(std::declval<F&>(), std::declval<M&>(), std::declval<C&>()));
}  // namespace detail

/// A handler for messages M on connections C: callable with (M&, C&) or with
/// (M&), returning void, M, std::optional<M>, or a task<> of one of those.
template <class F, class M, class C>
concept message_handler =
    (std::is_invocable_v<F&, M&, C&> || std::is_invocable_v<F&, M&>)&&detail::handler_result_ok<
        std::remove_cvref_t<detail::handler_result_t<F, M, C>>, M>::value;

/// Any handler for messages M on connections C, behind one signature.
template <message_protocol M, class C>
using erased_handler = std::function<handler_call<M>(M&, C&)>;

/// Wraps `f` into the stored shape. The callable is copied into the result;
/// a coroutine handler's frame refers to that copy, so the copy must live
/// until the coroutine has finished (the router keeps it alive).
template <message_protocol M, class C, class F>
requires message_handler<std::decay_t<F>, M, C> erased_handler<M, C> erase_handler(F&& f) {
  using fn_t = std::decay_t<F>;
  return [fn = fn_t(std::forward<F>(f))](M& m, C& c) mutable -> handler_call<M> {
    using result_t = decltype(detail::invoke_handler(fn, m, c));
    if constexpr (std::is_void_v<result_t>) {
      detail::invoke_handler(fn, m, c);
      return {};
    } else if constexpr (std::same_as<result_t, task<std::optional<M>>>) {
      return {std::nullopt, detail::invoke_handler(fn, m, c)};
    } else if constexpr (detail::is_task<result_t>::value) {
      return {std::nullopt, detail::adapt_handler_task<M>(detail::invoke_handler(fn, m, c))};
    } else {
      return {std::optional<M>(detail::invoke_handler(fn, m, c)), {}};
    }
  };
}

}  // namespace netaio::inline v0
