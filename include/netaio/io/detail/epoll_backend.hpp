// The Linux readiness backend: edge-triggered epoll, each descriptor
// registered once for both directions, plus an eventfd for wake().
#pragma once

#include <netaio/core/detail/loop_backend.hpp>
#include <netaio/io/detail/reactor_op.hpp>
#include <netaio/io/error.hpp>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <string>
#include <system_error>

namespace netaio::inline v0::detail {

class epoll_backend final : public loop_backend, public reactor_registry {
 public:
  static constexpr const char* name = "epoll";

  epoll_backend() {
    epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) fail("epoll_create1");
    wakefd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wakefd_ < 0) {
      int e = errno;
      ::close(epfd_);
      errno = e;
      fail("eventfd");
    }
    epoll_event ev{};
    ev.events = EPOLLIN;  // level-triggered: stays ready until drained
    ev.data.ptr = nullptr;
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev) != 0) {
      int e = errno;
      ::close(wakefd_);
      ::close(epfd_);
      errno = e;
      fail("epoll_ctl(eventfd)");
    }
  }
  epoll_backend(const epoll_backend&) = delete;
  epoll_backend& operator=(const epoll_backend&) = delete;
  ~epoll_backend() override {
    detach_all();
    ::close(wakefd_);
    ::close(epfd_);
  }

  /// Registers `s.fd` for both directions, edge-triggered. Throws io_error.
  void add(fd_state& s) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = &s;
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, s.fd, &ev) != 0) fail("epoll_ctl(ADD)");
    link(s);
  }
  /// Deregisters `s` (before its descriptor is closed).
  void remove(fd_state& s) noexcept {
    if (s.owner != this) return;
    epoll_event ev{};
    ::epoll_ctl(epfd_, EPOLL_CTL_DEL, s.fd, &ev);
    unlink(s);
  }

  std::size_t wait(std::chrono::nanoseconds timeout) override {
    int ms = -1;
    if (timeout.count() >= 0) {
      // Round up so a timer is never woken for early and spun on.
      auto m = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
      ms = m > INT_MAX ? INT_MAX : static_cast<int>(m);
    }
    epoll_event events[max_events];
    int n = ::epoll_wait(epfd_, events, max_events, ms);
    if (n < 0) return 0;  // EINTR: the loop simply turns again
    std::size_t scheduled = 0;
    for (int i = 0; i < n; ++i) {
      auto* s = static_cast<fd_state*>(events[i].data.ptr);
      if (s == nullptr) {
        drain_wake();
        continue;
      }
      const std::uint32_t ev = events[i].events;
      if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) s->read_hup = true;
      if (ev & (EPOLLHUP | EPOLLERR)) s->write_hup = true;
      if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        s->readable = true;
        scheduled += run(s->reader);
      }
      if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
        s->writable = true;
        scheduled += run(s->writer);
      }
    }
    return scheduled;
  }

  void wake() noexcept override {
    if (wake_pending_.exchange(true, std::memory_order_acq_rel)) return;
    std::uint64_t one = 1;
    ssize_t r;
    do {
      r = ::write(wakefd_, &one, sizeof one);
    } while (r < 0 && errno == EINTR);
  }

 private:
  static constexpr int max_events = 128;

  static std::size_t run(reactor_op*& slot) noexcept {
    reactor_op* op = slot;
    if (op == nullptr || !op->perform_(op)) return 0;
    slot = nullptr;
    op->complete();
    return 1;
  }

  void drain_wake() noexcept {
    wake_pending_.store(false, std::memory_order_release);
    std::uint64_t v;
    ssize_t r;
    do {
      r = ::read(wakefd_, &v, sizeof v);
    } while (r < 0 && errno == EINTR);
  }

  [[noreturn]] static void fail(const char* what) {
    int e = errno;
    throw io_error(e == EMFILE || e == ENFILE ? io_errc::too_many_open_files : io_errc::system,
                   std::string("netaio: ") + what + " failed: " + std::system_category().message(e),
                   std::error_code(e, std::system_category()));
  }

  int epfd_ = -1;
  int wakefd_ = -1;
  std::atomic<bool> wake_pending_{false};
};

}  // namespace netaio::inline v0::detail
