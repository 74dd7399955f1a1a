// The bundled auto-reconnect timeout handler (the reference's
// AutoReconnectTimeoutHandler): when a request times out, reconnect to that
// server, each attempt bounded by a connect timeout, a bounded number of
// attempts with a delay (and an optional backoff) between them, then an
// on-reconnect callback. The request has already thrown timed_out; this runs
// as the client's "timeout handler" child, so the client's stop() cancels
// and joins a reconnect in progress.
#pragma once

#include <netaio/core/deadline.hpp>
#include <netaio/core/error.hpp>
#include <netaio/core/task.hpp>
#include <netaio/node/log.hpp>
#include <netaio/node/peer_address.hpp>
#include <netaio/node/tcp_client.hpp>
#include <netaio/node/timeout.hpp>

#include <algorithm>
#include <chrono>
#include <concepts>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace netaio::inline v0 {

/// What auto_reconnect calls after a successful reconnect: with the client,
/// the server and the attempt number (from 1). Plain (returns void) or a
/// coroutine (returns task<void>), as the reference's on_reconnect.
template <class Client>
class reconnect_callback {
 public:
  using fn = std::function<task<void>(Client&, const peer_address&, unsigned)>;

  reconnect_callback() = default;
  template <class F>
  requires std::invocable<F&, Client&, const peer_address&, unsigned> reconnect_callback(
      F f) {  // NOLINT: implicit, so the options take a lambda
    using R = std::invoke_result_t<F&, Client&, const peer_address&, unsigned>;
    if constexpr (std::is_void_v<R>) {
      fn_ = [f = std::move(f)](Client& c, const peer_address& a, unsigned n) mutable -> task<void> {
        f(c, a, n);
        co_return;
      };
    } else {
      static_assert(std::is_same_v<R, task<void>>,
                    "an on_reconnect callback returns void or netaio::task<void>");
      fn_ = std::move(f);
    }
  }
  explicit operator bool() const noexcept { return static_cast<bool>(fn_); }
  /// Calls it; the task runs in the caller (the reconnect's own task).
  task<void> operator()(Client& c, const peer_address& a, unsigned attempt) const {
    return fn_(c, a, attempt);
  }

 private:
  fn fn_;
};

/// How auto_reconnect retries (the reference's defaults: 5 s, 3, 1 s).
template <class Client>
struct basic_auto_reconnect_options {
  /// Limit of each connection attempt.
  std::chrono::nanoseconds connect_timeout = std::chrono::seconds(5);
  /// Attempts in all (0: the handler does nothing).
  unsigned max_retries = 3;
  /// The wait after the first failed attempt.
  std::chrono::nanoseconds delay = std::chrono::seconds(1);
  /// Each further wait is the previous one times this (1: a constant delay,
  /// the reference's behaviour), capped at max_delay.
  double backoff = 1.0;
  std::chrono::nanoseconds max_delay = std::chrono::nanoseconds::max();
  /// Called after a successful reconnect. Its failure is logged; the
  /// connection stays (the reference would reconnect once more).
  reconnect_callback<Client> on_reconnect{};
  /// Called after each failed attempt with its error (diagnostics, tests).
  std::function<void(Client&, const peer_address&, unsigned, std::exception_ptr)> on_failure{};
};

/// The reference's AutoReconnectTimeoutHandler:
/// `client.set_timeout_handler(auto_reconnect({.max_retries = 5}))`.
/// Handles request timeouts only. One reconnect per server at a time: a
/// timeout while that server is already being reconnected to is ignored
/// (several requests in flight time out together; one reconnect serves all).
template <class Client>
class basic_auto_reconnect {
 public:
  using options_t = basic_auto_reconnect_options<Client>;

  explicit basic_auto_reconnect(options_t o = {})
      : opts_(std::make_shared<const options_t>(std::move(o))),
        busy_(std::make_shared<std::set<peer_address>>()) {}

  const options_t& options() const noexcept { return *opts_; }

  /// The timeout handler. Copies what it needs first: the references it
  /// gets live in the spawned child that runs it, but the handler object
  /// may be replaced meanwhile.
  task<void> operator()(Client& client, timeout_kind kind,
                        const std::optional<peer_address>& server, const timed_out& /*error*/,
                        const timeout_context& /*context*/) const {
    if (kind != timeout_kind::request) co_return;
    const auto opts = opts_;
    const auto busy = busy_;
    const peer_address target = server.value_or(to_peer_address(client.options().server));
    if (!busy->insert(target).second) {
      client.log().debug(target, "auto-reconnect already in progress");
      co_return;
    }
    struct release {
      std::set<peer_address>* set;
      const peer_address* a;
      ~release() { set->erase(*a); }
    } guard{busy.get(), &target};

    const std::optional<endpoint> ep = try_to_endpoint(target);
    if (!ep) {
      client.log().error(target, "auto-reconnect: not a numeric address; not reconnecting");
      co_return;
    }
    client.log().info(target, "auto-reconnect handler invoked (max_retries=", opts->max_retries,
                      ")");
    std::chrono::nanoseconds delay = opts->delay;
    for (unsigned attempt = 1; attempt <= opts->max_retries; ++attempt) {
      client.log().info(target, "reconnect attempt ", attempt, "/", opts->max_retries);
      std::exception_ptr failure;
      try {
        co_await client.connect(*ep, opts->connect_timeout);
      } catch (const operation_cancelled&) {
        throw;  // the client is stopping
      } catch (...) {
        failure = std::current_exception();
      }
      if (!failure) {
        client.log().info(target, "reconnected");
        if (opts->on_reconnect) {
          try {
            co_await opts->on_reconnect(client, target, attempt);
          } catch (const operation_cancelled&) {
            throw;
          } catch (...) {
            client.log().error(target, "on_reconnect failed: ", detail::current_exception_text());
          }
        }
        co_return;
      }
      client.log().warning(target, "reconnect attempt ", attempt, "/", opts->max_retries,
                           " failed: ", describe(failure));
      if (opts->on_failure) opts->on_failure(client, target, attempt, failure);
      if (attempt < opts->max_retries) {
        co_await sleep_for(delay);
        delay = next_delay(delay, *opts);
      }
    }
    client.log().error(target, "failed to reconnect after ", opts->max_retries, " attempts");
  }

 private:
  static std::chrono::nanoseconds next_delay(std::chrono::nanoseconds d, const options_t& o) {
    // In double, so a large backoff saturates at max_delay instead of
    // overflowing (max() itself does not round-trip through a double).
    const double next = static_cast<double>(d.count()) * std::max(o.backoff, 0.0);
    if (next >= static_cast<double>(o.max_delay.count())) return o.max_delay;
    return std::chrono::nanoseconds(static_cast<std::chrono::nanoseconds::rep>(next));
  }
  static std::string describe(const std::exception_ptr& e) {
    try {
      std::rethrow_exception(e);
    } catch (...) {
      return detail::current_exception_text();
    }
  }

  std::shared_ptr<const options_t> opts_;
  // Servers being reconnected to now; shared by the handler's copies.
  std::shared_ptr<std::set<peer_address>> busy_;
};

/// The default client's auto-reconnect handler and its options.
using auto_reconnect = basic_auto_reconnect<tcp_client>;
using auto_reconnect_options = basic_auto_reconnect_options<tcp_client>;

}  // namespace netaio::inline v0
