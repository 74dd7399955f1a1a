// The Linux readiness backend: edge-triggered epoll, each descriptor
// registered once for both directions, plus an eventfd for wake() and a
// timerfd for the loop's next deadline.
#pragma once

#include <netaio/core/detail/loop_backend.hpp>
#include <netaio/io/detail/eventfd_wake.hpp>
#include <netaio/io/detail/reactor_op.hpp>
#include <netaio/io/detail/registration_table.hpp>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <ctime>

namespace netaio::inline v0::detail {

class epoll_backend final : public loop_backend, public reactor_registry {
 public:
  static constexpr const char* name = "epoll";
  static constexpr io_model model = io_model::readiness;

  epoll_backend() {
    epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) throw_backend_error(errno, "epoll_create1");
    wakefd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wakefd_ < 0) {
      const int e = errno;
      ::close(epfd_);
      throw_backend_error(e, "eventfd");
    }
    epoll_event ev{};
    ev.events = EPOLLIN;  // level-triggered: stays ready until drained
    ev.data.u64 = wake_token;
    int e = 0;
    const char* what = nullptr;
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev) != 0) {
      e = errno, what = "epoll_ctl(eventfd)";
    } else if ((timerfd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0) {
      e = errno, what = "timerfd_create";
    } else {
      // Edge-triggered: each expiry is reported once and nothing is read
      // (re-arming resets the timer's count).
      ev.events = EPOLLIN | EPOLLET;
      ev.data.u64 = timer_token;
      if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, timerfd_, &ev) != 0)
        e = errno, what = "epoll_ctl(timerfd)";
    }
    if (what != nullptr) {
      if (timerfd_ >= 0) ::close(timerfd_);
      ::close(wakefd_);
      ::close(epfd_);
      throw_backend_error(e, what);
    }
  }
  epoll_backend(const epoll_backend&) = delete;
  epoll_backend& operator=(const epoll_backend&) = delete;
  ~epoll_backend() override {
    detach_all();
    ::close(timerfd_);
    ::close(wakefd_);
    ::close(epfd_);
  }

  /// Registers `s.fd` for both directions, edge-triggered. Throws io_error.
  void add(fd_state& s) {
    // Room first, so that nothing below can fail after the kernel said yes.
    const table::place at = table_.reserve();
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = table::token(at);
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, s.fd, &ev) != 0)
      throw_backend_error(errno, "epoll_ctl(ADD)");
    table_.take(at, s);
    link(s);
  }
  /// Forgets `s`, which is about to be closed. No EPOLL_CTL_DEL: closing
  /// the last descriptor of a socket takes it out of the epoll set, and
  /// saves a syscall per socket. If the socket lives on elsewhere (a dup,
  /// or a fork's child not yet at exec), its registration stays and may
  /// still report events: they carry the slot's old generation and are
  /// ignored.
  void remove(fd_state& s) noexcept {
    if (s.owner != this) return;
    table_.release(s);
    unlink(s);
  }

  // A deadline goes to the timerfd, and epoll_wait blocks without one: a
  // blocking epoll_wait with a timeout arms a kernel timer on every call
  // (~0.2 us each, measured), while a request's or an idle connection's
  // deadline stays the loop's earliest across thousands of waits. The
  // timerfd is re-armed only when the deadline is earlier than the one it
  // holds, or after it has fired; a later deadline leaves it as it is, and
  // its early expiry just turns the loop once more.
  std::size_t wait(std::chrono::nanoseconds timeout) override {
    if (timeout.count() <= 0) return poll_events(timeout.count() == 0 ? 0 : -1);
    const std::int64_t now = monotonic_ns();
    return wait_deadline(now + std::min<std::int64_t>(timeout.count(), INT64_MAX - now), timeout);
  }
  /// The loop's clock is CLOCK_MONOTONIC here (libstdc++ and libc++ on
  /// Linux), so its deadline goes to the timerfd as it is: no second
  /// reading of the clock per wait.
  std::size_t wait_until(loop_deadline deadline, loop_deadline now) override {
    if (deadline <= now) return poll_events(0);
    return wait_deadline(deadline.time_since_epoch().count(), deadline - now);
  }

  void wake() noexcept override { signal_eventfd(wakefd_, wake_pending_); }

 private:
  static constexpr int max_events = 128;
  static constexpr std::uint64_t wake_token = ~std::uint64_t{0};
  // Index bits all set, like the wake-up's: never a slot's token.
  static constexpr std::uint64_t timer_token = 0xffffffffu;

  // Tokens: generation << 32 | slot index; all ones is the wake-up's.
  using table = registration_table<std::uint64_t, 32>;

  static std::int64_t monotonic_ns() noexcept {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
  }

  // Waits until `at` (CLOCK_MONOTONIC, ns) at most; `timeout` is the same
  // span from now, for epoll_wait's own timeout should the timerfd refuse.
  std::size_t wait_deadline(std::int64_t at, std::chrono::nanoseconds timeout) {
    if (arm(at)) return poll_events(-1);
    // Round up so a timer is never woken for early and spun on.
    const auto m = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
    return poll_events(m > INT_MAX ? INT_MAX : static_cast<int>(m));
  }

  // Sets the timerfd to expire at `at`, unless it is set to expire no later
  // than that already. False if the timerfd refused.
  bool arm(std::int64_t at) noexcept {
    if (armed_ && armed_at_ <= at) return true;
    constexpr std::int64_t second = 1'000'000'000;
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(at / second);
    spec.it_value.tv_nsec = static_cast<long>(at % second);
    if (::timerfd_settime(timerfd_, TFD_TIMER_ABSTIME, &spec, nullptr) != 0) return false;
    armed_ = true;
    armed_at_ = at;
    return true;
  }

  // One epoll_wait (`ms` as epoll_wait takes it) and the events it brings.
  std::size_t poll_events(int ms) {
    epoll_event events[max_events];
    int n = ::epoll_wait(epfd_, events, max_events, ms);
    if (n < 0) return 0;       // EINTR: the loop simply turns again
    std::size_t progress = 0;  // ops run: what the loop takes for a busy turn
    for (int i = 0; i < n; ++i) {
      const std::uint64_t token = events[i].data.u64;
      if (token == wake_token) {
        drain_wake();
        continue;
      }
      if (token == timer_token) {
        armed_ = false;
        continue;
      }
      fd_state* s = table_.find(token);
      if (s == nullptr) continue;  // a socket closed here but still open elsewhere
      const std::uint32_t ev = events[i].events;
      if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) s->read_hup = true;
      if (ev & (EPOLLHUP | EPOLLERR)) s->write_hup = true;
      if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        s->readable = true;
        progress += run_waiter(s->reader);
      }
      if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
        s->writable = true;
        progress += run_waiter(s->writer);
      }
    }
    return progress;
  }

  // Drain first, then clear the flag. The other order loses wake-ups for
  // good: a wake() landing between the two writes the eventfd, the read
  // swallows it, and the flag stays set, so every later wake() returns
  // without writing while the loop sleeps. In this order a wake() that
  // lands before the clear finds the flag set and writes nothing, which is
  // safe: the loop, having cleared the flag (seq_cst, like the post's
  // store), looks for posted work before it blocks again.
  void drain_wake() noexcept {
    std::uint64_t v;
    ssize_t r;
    do {
      r = ::read(wakefd_, &v, sizeof v);
    } while (r < 0 && errno == EINTR);
    wake_pending_.store(false, std::memory_order_seq_cst);
  }

  table table_;
  int epfd_ = -1;
  int wakefd_ = -1;
  int timerfd_ = -1;
  bool armed_ = false;         // the timerfd is set and has not been seen to fire
  std::int64_t armed_at_ = 0;  // when it fires (CLOCK_MONOTONIC, ns)
  std::atomic<bool> wake_pending_{false};
};

}  // namespace netaio::inline v0::detail
