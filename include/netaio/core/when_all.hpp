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

template <std::size_t I, class T, class Slots>
task<void> race_one(task<T> t, Slots& slots, std::optional<std::size_t>& first, task_scope& scope) {
  if constexpr (std::is_void_v<T>) {
    co_await std::move(t);
    std::get<I>(slots).emplace();
  } else {
    std::get<I>(slots).emplace(co_await std::move(t));
  }
  if (!first) first = I;
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

/// What when_any gives: which task finished first, and the result of every
/// task that completed — a loser that completed in the same turn as the
/// winner (two queue pops, say) keeps its value instead of losing it.
template <class... Ts>
struct when_any_result {
  std::size_t first = 0;
  std::tuple<std::optional<detail::non_void_t<Ts>>...> completed;

  /// The result of task I, if it completed.
  template <std::size_t I>
  auto& get() noexcept {
    return std::get<I>(completed);
  }
};

/// Runs every task concurrently until the first one finishes; cancels the
/// others and joins them before returning. A failure is rethrown.
template <class... Ts>
task<when_any_result<Ts...>> when_any(task<Ts>... tasks) {
  when_any_result<Ts...> out;
  std::optional<std::size_t> first;
  {
    task_scope scope{co_await this_context()};
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (scope.spawn(detail::race_one<I>(std::move(tasks), out.completed, first, scope)), ...);
    }
    (std::index_sequence_for<Ts...>{});
    co_await scope.join();
  }
  out.first = *first;
  co_return out;
}

}  // namespace netaio::inline v0
