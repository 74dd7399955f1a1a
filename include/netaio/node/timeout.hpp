// Timeout handlers: what a node calls when a request times out (the
// reference's set_timeout_handler). A handler is a plain function or a
// coroutine; a coroutine runs as a named child of the node's scope, so the
// node's stop() cancels and joins it (seed 002: the reference's were
// fire-and-forget tasks).
#pragma once

#include <netaio/core/error.hpp>
#include <netaio/core/task.hpp>
#include <netaio/core/task_scope.hpp>
#include <netaio/node/log.hpp>
#include <netaio/wire/bytes.hpp>
#include <netaio/wire/keys.hpp>

#include <chrono>
#include <concepts>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace netaio::inline v0 {

/// Which wait timed out (the reference's timeout_type string).
enum class timeout_kind : unsigned char {
  request,  // "request_timeout": no answer to a request in time
};

/// The reference's name for the kind.
constexpr std::string_view to_string(timeout_kind k) noexcept {
  switch (k) {
    case timeout_kind::request:
      return "request_timeout";
  }
  return "timeout";
}

/// What the reference passes as the TimeoutContext.
struct timeout_context {
  byte_buffer uri;                     // the request's uri
  std::chrono::nanoseconds timeout{};  // the limit that ran out
  std::optional<peer_address> server;  // where the request went
  std::vector<std::string> keys;       // the answer handlers it was waiting on
};

/// A node's timeout handler: called with the node, the kind, the server, the
/// error and the context. Either plain (returns void) or a coroutine
/// (returns task<void>).
template <class Node>
class timeout_handler {
 public:
  using plain_fn = std::function<void(Node&, timeout_kind, const std::optional<peer_address>&,
                                      const timed_out&, const timeout_context&)>;
  // By reference: the spawned child keeps the copies the references point
  // at alive for as long as the handler's coroutine runs.
  using coro_fn = std::function<task<void>(Node&, timeout_kind, const std::optional<peer_address>&,
                                           const timed_out&, const timeout_context&)>;

  timeout_handler() = default;
  template <class F>
  requires std::invocable < F&, Node&, timeout_kind, const std::optional<peer_address>
  &, const timed_out&,
      const timeout_context& >
          timeout_handler(F f) {  // NOLINT: implicit, so set_timeout_handler takes a lambda
    using R = std::invoke_result_t<F&, Node&, timeout_kind, const std::optional<peer_address>&,
                                   const timed_out&, const timeout_context&>;
    if constexpr (std::is_void_v<R>) {
      plain_ = std::move(f);
    } else {
      static_assert(std::is_same_v<R, task<void>>,
                    "a timeout handler returns void or netaio::task<void>");
      coro_ = std::move(f);
    }
  }

  explicit operator bool() const noexcept { return plain_ || coro_; }

  /// Calls the handler. A plain one runs now (an exception is logged); a
  /// coroutine is spawned into `scope` as "timeout handler", with its own
  /// copies of the arguments; its failure is the scope's to report.
  void invoke(task_scope& scope, const logger& log, Node& node, timeout_kind kind,
              const std::optional<peer_address>& server, const timed_out& error,
              const timeout_context& context) const {
    if (plain_) {
      try {
        plain_(node, kind, server, error, context);
      } catch (const std::exception& e) {
        log.error(server, "timeout handler failed: ", std::string_view(e.what()));
      } catch (...) {
        log.error(server, "timeout handler failed");
      }
      return;
    }
    if (!coro_) return;
    if (scope.closed()) return;  // the node is stopping: nothing new starts
    scope.spawn("timeout handler",
                [fn = coro_, &node, kind, server, error, context]() -> task<void> {
                  co_await fn(node, kind, server, error, context);
                });
  }

 private:
  plain_fn plain_;
  coro_fn coro_;
};

}  // namespace netaio::inline v0
