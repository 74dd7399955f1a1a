// Signals awaited on the reactor: raised and killed while waiting, queued
// before the wait, cancelled, closed; the thread's signal mask is restored.
// Single-threaded on purpose: a process-directed signal must find every
// thread blocking it (here, the only one).
#include <netaio/core.hpp>
#include <netaio/io.hpp>
#include <netaio/io/signal_set.hpp>

#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <set>
#include <stdexcept>
#include <string>

#include "io/io_support.hpp"
#include "support/fd_count.hpp"
#include "support/io_run.hpp"

using namespace netaio;

#if NETAIO_HAS_SIGNAL_SET

namespace {

bool blocked(int signo) {
  sigset_t now;
  ::pthread_sigmask(SIG_BLOCK, nullptr, &now);
  return ::sigismember(&now, signo) == 1;
}

bool pending(int signo) {
  sigset_t p;
  ::sigpending(&p);
  return ::sigismember(&p, signo) == 1;
}

template <class Body>
void run_io(Body body) {
  REQUIRE_FALSE(blocked(SIGUSR1));
  REQUIRE_FALSE(blocked(SIGUSR2));
  REQUIRE_FALSE(blocked(SIGTERM));
  test::run_io_checked(body);
  // Every test's sets are gone: the mask is as it was, nothing left queued.
  CHECK_FALSE(blocked(SIGUSR1));
  CHECK_FALSE(blocked(SIGUSR2));
  CHECK_FALSE(blocked(SIGTERM));
  CHECK_FALSE(pending(SIGUSR1));
}

task<void> wait_into(signal_set& sigs, int& got) {
  got = co_await sigs.wait();
}

/// Starts a wait, lets it block on the reactor, then runs `send`.
template <class Send>
task<int> wait_while(io_context& io, signal_set& sigs, Send send) {
  int got = 0;
  task_scope scope{co_await this_context()};
  const std::size_t before = io.pending_operations();
  scope.spawn(wait_into(sigs, got));
  co_await test::wait_until([&] { return io.pending_operations() == before + 1; });
  CHECK(got == 0);
  send();
  co_await scope.join();
  co_return got;
}

}  // namespace

TEST_CASE("raise() while waiting completes the wait with the signal's number") {
  run_io([](io_context& io) -> task<void> {
    signal_set sigs(io, {SIGUSR1, SIGTERM});
    CHECK(blocked(SIGUSR1));
    CHECK(blocked(SIGTERM));
    CHECK_FALSE(blocked(SIGUSR2));
    CHECK(sigs.contains(SIGUSR1));
    CHECK_FALSE(sigs.contains(SIGUSR2));
    CHECK(co_await wait_while(io, sigs, [] { ::raise(SIGUSR1); }) == SIGUSR1);
  });
}

TEST_CASE("kill(getpid(), SIGTERM) while waiting: the process is not terminated, the wait ends") {
  run_io([](io_context& io) -> task<void> {
    signal_set sigs(io, {SIGTERM});
    CHECK(co_await wait_while(io, sigs, [] { ::kill(::getpid(), SIGTERM); }) == SIGTERM);
    // And again: the set keeps working after a signal.
    CHECK(co_await wait_while(io, sigs, [] { ::kill(::getpid(), SIGTERM); }) == SIGTERM);
  });
}

TEST_CASE("signals queued before the wait are each handed out once") {
  run_io([](io_context& io) -> task<void> {
    signal_set sigs(io, {SIGUSR1, SIGUSR2});
    ::raise(SIGUSR2);
    ::raise(SIGUSR1);
    std::set<int> got;
    got.insert(co_await sigs.wait());
    got.insert(co_await sigs.wait());
    CHECK(got == std::set<int>{SIGUSR1, SIGUSR2});
    CHECK_FALSE(pending(SIGUSR1));
    CHECK_FALSE(pending(SIGUSR2));
    // Nothing left: the next wait blocks until a signal comes.
    CHECK(co_await wait_while(io, sigs, [] { ::raise(SIGUSR2); }) == SIGUSR2);
  });
}

TEST_CASE("a wait is cancelled at once, and the signal after it is not lost") {
  run_io([](io_context& io) -> task<void> {
    signal_set sigs(io, {SIGUSR1});
    std::string outcome;
    {
      task_scope scope{co_await this_context()};
      scope.spawn(test::record(sigs.wait(), outcome));
      co_await test::wait_until([&] { return io.pending_operations() == 1; });
      const auto at = io.now();
      scope.cancel();
      co_await scope.join();
      CHECK(io.now() == at);
    }
    CHECK(outcome == "cancelled");
    CHECK(io.pending_operations() == 0);
    ::raise(SIGUSR1);
    CHECK(co_await sigs.wait() == SIGUSR1);
    // A deadline is a cancellation too.
    CHECK_FALSE(co_await move_on_after(std::chrono::seconds(5), [](signal_set& s) -> task<int> {
      co_return co_await s.wait();
    }(sigs)));
  });
}

TEST_CASE("close() ends a pending wait with io_error(closed) and unblocks the signals") {
  run_io([](io_context& io) -> task<void> {
    signal_set sigs(io, {SIGUSR1});
    std::string outcome;
    {
      task_scope scope{co_await this_context()};
      scope.spawn(test::record(sigs.wait(), outcome));
      co_await test::wait_until([&] { return io.pending_operations() == 1; });
      sigs.close();
      co_await scope.join();
    }
    CHECK(outcome.find("closed") != std::string::npos);
    CHECK_FALSE(blocked(SIGUSR1));
    CHECK_FALSE(sigs.is_open());
    sigs.close();  // idempotent
    try {
      (void)co_await sigs.wait();
      FAIL("waited on a closed set");
    } catch (const io_error& e) {
      CHECK(e.errc() == io_errc::closed);
    }
  });
}

TEST_CASE("closing the io_context ends a pending wait with cancellation") {
  run_io([](io_context& io) -> task<void> {
    signal_set sigs(io, {SIGUSR1});
    std::string outcome;
    {
      task_scope scope{co_await this_context()};
      scope.spawn(test::record(sigs.wait(), outcome));
      co_await test::wait_until([&] { return io.pending_operations() == 1; });
      io.close();
      try {
        co_await scope.join();
      } catch (const operation_cancelled&) {
      }
    }
    CHECK(outcome == "cancelled");
  });
}

TEST_CASE("a signal that came and was not waited for is dropped with the set") {
  run_io([](io_context& io) -> task<void> {
    {
      signal_set sigs(io, {SIGUSR1});
      ::raise(SIGUSR1);
      CHECK(pending(SIGUSR1));
    }  // unblocked here: had it stayed queued, SIGUSR1's default action would end the test
    CHECK_FALSE(pending(SIGUSR1));
    co_return;
  });
}

TEST_CASE("sets sharing a signal: it stays blocked until the last one goes, in any order") {
  run_io([](io_context& io) -> task<void> {
    auto a = std::make_unique<signal_set>(io, std::initializer_list<int>{SIGUSR1, SIGUSR2});
    auto b = std::make_unique<signal_set>(io, std::initializer_list<int>{SIGUSR1});
    a.reset();  // not the order they were made in
    CHECK(blocked(SIGUSR1));
    CHECK_FALSE(blocked(SIGUSR2));
    ::raise(SIGUSR1);
    CHECK(co_await b->wait() == SIGUSR1);
    b.reset();
    CHECK_FALSE(blocked(SIGUSR1));
  });
}

TEST_CASE("a signal blocked before the set stays blocked after it, its queue untouched") {
  sigset_t usr2;
  ::sigemptyset(&usr2);
  ::sigaddset(&usr2, SIGUSR2);
  ::pthread_sigmask(SIG_BLOCK, &usr2, nullptr);
  {
    io_context io;
    {
      signal_set sigs(io, {SIGUSR2, SIGUSR2});  // duplicates are harmless
      ::raise(SIGUSR2);
    }
    CHECK(blocked(SIGUSR2));
    CHECK(pending(SIGUSR2));  // not the set's to drop: the thread blocked it itself
  }
  const timespec zero{0, 0};
  CHECK(::sigtimedwait(&usr2, nullptr, &zero) == SIGUSR2);
  ::pthread_sigmask(SIG_UNBLOCK, &usr2, nullptr);
}

TEST_CASE("numbers that are not catchable signals are refused") {
  io_context io;
  CHECK_THROWS_AS(signal_set(io, {SIGKILL}), std::invalid_argument);
  CHECK_THROWS_AS(signal_set(io, {SIGUSR1, SIGSTOP}), std::invalid_argument);
  CHECK_THROWS_AS(signal_set(io, {0}), std::invalid_argument);
  CHECK_THROWS_AS(signal_set(io, {NSIG}), std::invalid_argument);
  CHECK_FALSE(blocked(SIGUSR1));  // a refused set blocked nothing
  CHECK(io.registered_descriptors() == 0);
}

#else

TEST_CASE("signal_set is not available on this platform") {
  CHECK(NETAIO_HAS_SIGNAL_SET == 0);
}

#endif
