// when_all / when_any: run tasks concurrently in a nested scope that is joined
// (every frame destroyed) before the combinator completes.
#pragma once

#include <netaio/core/task.hpp>
#include <netaio/core/task_scope.hpp>

#include <cstddef>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace netaio::inline v0 {

namespace detail {

template <class T>
using non_void_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class T>
task<void> store_result(task<T> t, std::optional<non_void_t<T>>& out) {
  if constexpr (std::is_void_v<T>) {
    co_await std::move(t);
    out.emplace();
  } else {
    out.emplace(co_await std::move(t));
  }
}

template <std::size_t I, class T, class Result>
task<void> race_one(task<T> t, std::optional<Result>& winner, task_scope& scope) {
  if constexpr (std::is_void_v<T>) {
    co_await std::move(t);
    if (!winner) winner.emplace(std::in_place_index<I>);
  } else {
    auto v = co_await std::move(t);
    if (!winner) winner.emplace(std::in_place_index<I>, std::move(v));
  }
  scope.cancel();  // the first finisher wins; the rest are cancelled and joined
}

}  // namespace detail

/// Runs every task concurrently; gives a tuple of results (std::monostate
/// for void). The first failure cancels the rest and is rethrown after all
/// have ended.
template <class... Ts>
task<std::tuple<detail::non_void_t<Ts>...>> when_all(task<Ts>... tasks) {
  std::tuple<std::optional<detail::non_void_t<Ts>>...> results;
  {
    task_scope scope{co_await this_context()};
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (scope.spawn(detail::store_result(std::move(tasks), std::get<I>(results))), ...);
    }
    (std::index_sequence_for<Ts...>{});
    co_await scope.join();
  }
  co_return std::apply([](auto&... r) { return std::tuple{std::move(*r)...}; }, results);
}

/// Runs every task concurrently; gives their results in order.
template <class T>
task<std::vector<detail::non_void_t<T>>> when_all(std::vector<task<T>> tasks) {
  std::vector<std::optional<detail::non_void_t<T>>> results(tasks.size());
  {
    task_scope scope{co_await this_context()};
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      scope.spawn(detail::store_result(std::move(tasks[i]), results[i]));
    }
    co_await scope.join();
  }
  std::vector<detail::non_void_t<T>> out;
  out.reserve(results.size());
  for (auto& r : results)
    out.push_back(std::move(*r));
  co_return out;
}

/// Runs every task concurrently until the first one finishes; cancels the
/// others and joins them before returning. The variant's index says which
/// task won (std::monostate stands for void). A failure is rethrown.
template <class... Ts>
task<std::variant<detail::non_void_t<Ts>...>> when_any(task<Ts>... tasks) {
  using result = std::variant<detail::non_void_t<Ts>...>;
  std::optional<result> winner;
  {
    task_scope scope{co_await this_context()};
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (scope.spawn(detail::race_one<I>(std::move(tasks), winner, scope)), ...);
    }
    (std::index_sequence_for<Ts...>{});
    co_await scope.join();
  }
  co_return std::move(*winner);
}

}  // namespace netaio::inline v0
