// How the long-running commands (serve, udp) end: the first SIGINT or
// SIGTERM stops the node gracefully, a second one during that stop stops it
// at once. Signals arrive through the reactor (io::signal_set), never as a
// flag polled in a loop.
#pragma once

#include <netaio/core/task.hpp>
#include <netaio/core/task_scope.hpp>
#include <netaio/core/with_scope.hpp>
#include <netaio/io/signal_set.hpp>
#include <netaio/node/log.hpp>

#include <chrono>
#include <optional>

namespace netaio_cli {

/// Waits for a signal, calls `on_signal()`, then stops `node` within
/// `grace` (a second signal meanwhile: at once).
template <class Node, class OnSignal>
netaio::task<void> stop_on_signal(netaio::signal_set& signals, Node& node,
                                  std::chrono::nanoseconds grace, const netaio::logger& log,
                                  OnSignal on_signal) {
  const int sig = co_await signals.wait();
  log.info(std::nullopt, "signal ", sig, ": stopping");
  on_signal();
  co_await netaio::with_scope([&](netaio::task_scope& s) -> netaio::task<void> {
    s.spawn(
        [&]() -> netaio::task<void> {
          (void)co_await signals.wait();
          log.info(std::nullopt, "second signal: stopping at once");
          co_await node.stop(std::chrono::nanoseconds(0));
        },
        "second signal");
    co_await node.stop(grace);
    s.cancel();
  });
}

}  // namespace netaio_cli
