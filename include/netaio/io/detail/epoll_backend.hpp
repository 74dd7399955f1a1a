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
#include <vector>

namespace netaio::inline v0::detail {

class epoll_backend final : public loop_backend, public reactor_registry {
 public:
  static constexpr const char* name = "epoll";
  static constexpr io_model model = io_model::readiness;

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
    ev.data.u64 = wake_token;
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
    // Room first, so that nothing below can fail after the kernel said yes.
    if (free_.empty() && slots_.size() == slots_.capacity()) {
      const std::size_t cap = slots_.empty() ? 64 : 2 * slots_.size();
      slots_.reserve(cap);
      free_.reserve(cap);
    }
    const std::uint32_t index =
        free_.empty() ? static_cast<std::uint32_t>(slots_.size()) : free_.back();
    const std::uint32_t gen = index < slots_.size() ? slots_[index].gen : 0;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = (std::uint64_t{gen} << 32) | index;
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, s.fd, &ev) != 0) fail("epoll_ctl(ADD)");
    if (index == slots_.size()) {
      slots_.push_back({&s, 0});
    } else {
      free_.pop_back();
      slots_[index].state = &s;
    }
    s.slot = index;
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
    slot& e = slots_[s.slot];
    e.state = nullptr;
    ++e.gen;
    free_.push_back(s.slot);  // never allocates: reserved in add()
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
      const std::uint64_t token = events[i].data.u64;
      if (token == wake_token) {
        drain_wake();
        continue;
      }
      const auto index = static_cast<std::uint32_t>(token);
      if (index >= slots_.size() || slots_[index].gen != static_cast<std::uint32_t>(token >> 32))
        continue;  // a socket closed here but still open elsewhere
      fd_state* s = slots_[index].state;
      if (s == nullptr) continue;
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
    if (wake_pending_.exchange(true, std::memory_order_seq_cst)) return;
    std::uint64_t one = 1;
    ssize_t r;
    do {
      r = ::write(wakefd_, &one, sizeof one);
    } while (r < 0 && errno == EINTR);
  }

 private:
  static constexpr int max_events = 128;
  static constexpr std::uint64_t wake_token = ~std::uint64_t{0};

  /// A registration: the socket's state and a generation that changes each
  /// time the slot is freed, so a stale event can be told from a live one.
  struct slot {
    fd_state* state;
    std::uint32_t gen;
  };

  static std::size_t run(reactor_op*& slot) noexcept {
    reactor_op* op = slot;
    if (op == nullptr || !op->perform_(op)) return 0;
    slot = nullptr;
    op->complete();
    return 1;
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

  [[noreturn]] static void fail(const char* what) {
    int e = errno;
    throw io_error(e == EMFILE || e == ENFILE ? io_errc::too_many_open_files : io_errc::system,
                   std::string("netaio: ") + what + " failed: " + std::system_category().message(e),
                   std::error_code(e, std::system_category()));
  }

  std::vector<slot> slots_;
  std::vector<std::uint32_t> free_;  // capacity >= slots_.size(): remove() never allocates
  int epfd_ = -1;
  int wakefd_ = -1;
  std::atomic<bool> wake_pending_{false};
};

}  // namespace netaio::inline v0::detail
