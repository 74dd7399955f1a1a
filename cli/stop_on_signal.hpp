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

#include <pthread.h>

#include <chrono>
#include <csignal>
#include <optional>

namespace netaio_cli {

/// Blocks SIGINT and SIGTERM in this thread for the rest of the process.
/// Called before the signal_set that waits for them is made: a signal_set
/// unblocks, when it goes, only what was not blocked before it, so a
/// signal arriving after the stop (the set gone, the process about to
/// exit) stays pending instead of ending the process by its default action
/// (status 143 where the command promises 0).
inline void keep_stop_signals_blocked() noexcept {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &s, nullptr);
}

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
