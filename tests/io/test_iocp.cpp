// The IOCP backend's op base (io/detail/iocp_op.hpp), Windows only: overlapped
// WSARecv/WSASend on a loopback TCP pair completing through an io_context's
// completion port, cancellation with CancelIoEx, io_context::close(), a
// closed socket and posted completions. The socket awaiters of tcp_stream
// and friends run on this base (the io suites test them); this file drives
// it directly with a minimal awaiter of its own (no task cancellation: it
// resumes only from the packet).
#include <netaio/core.hpp>
#include <netaio/io/detail/sockaddr.hpp>
#include <netaio/io/io_context.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <coroutine>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace netaio;
namespace d = netaio::detail;

namespace {

/// A connected loopback TCP pair, both ends registered with `io`'s port.
/// accept/connect are blocking calls here (they are not what is tested).
struct tcp_pair {
  d::iocp_backend& backend;
  d::fd_state a;  // the connecting end
  d::fd_state b;  // the accepted end

  explicit tcp_pair(io_context& io) : backend(io.backend()) {
    d::native_socket l = d::open_socket(ip_family::v4, SOCK_STREAM, "socket");
    d::native_address at = d::to_native(endpoint::parse("127.0.0.1:0"));
    REQUIRE(::bind(l, at.get(), at.length) == 0);
    REQUIRE(::listen(l, 1) == 0);
    const endpoint bound = d::local_endpoint_of(l);
    CHECK(bound.address().is_loopback());
    CHECK(bound.port() != 0);
    a.fd = d::open_socket(ip_family::v4, SOCK_STREAM, "socket");
    d::native_address to = d::to_native(bound);
    REQUIRE(::connect(a.fd, to.get(), to.length) == 0);
    b.fd = ::accept(l, nullptr, nullptr);
    REQUIRE(b.fd != d::invalid_socket);
    d::close_socket(l);
    CHECK(d::peer_endpoint_of(a.fd) == d::local_endpoint_of(b.fd));
    backend.add(a);
    backend.add(b);
  }
  tcp_pair(const tcp_pair&) = delete;
  tcp_pair& operator=(const tcp_pair&) = delete;
  ~tcp_pair() {
    for (d::fd_state* s : {&a, &b}) {
      if (s->fd == d::invalid_socket) continue;
      backend.remove(*s);
      d::close_socket(s->fd);
    }
  }
};

struct result {
  unsigned long error = 0;
  unsigned long bytes = 0;
  bool aborted = false;
};

/// Awaits one overlapped call: `start(OVERLAPPED*, bytes&)` issues it and
/// returns 0 (done at once, `bytes` set) or the Winsock error.
template <class Start>
struct overlapped_call : d::iocp_op {
  d::iocp_backend* backend;
  d::fd_state* sock;
  Start start;
  std::coroutine_handle<> handle;
  task_context* ctx = nullptr;
  bool went_inline = false;

  overlapped_call(d::iocp_backend& b, d::fd_state& s, Start f)
      : d::iocp_op(&completed), backend(&b), sock(&s), start(std::move(f)) {}

  static void completed(d::iocp_op* op) noexcept {
    auto* self = static_cast<overlapped_call*>(op);
    self->ctx->loop->schedule(self->handle, self->ctx);
  }

  bool await_ready() const noexcept { return false; }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    handle = h;
    ctx = h.promise().context_;
    backend->begin(*this, sock->fd);
    unsigned long bytes_now = 0;
    const unsigned long e = start(overlapped(), bytes_now);
    went_inline = backend->submitted(*this, e, bytes_now, sock->skip_on_success) ==
                  d::iocp_backend::submit_result::done;
    return !went_inline;
  }
  result await_resume() const noexcept { return {error, bytes, aborted}; }
};

template <class Start>
overlapped_call<Start> call(d::iocp_backend& b, d::fd_state& s, Start f) {
  return {b, s, std::move(f)};
}

auto recv_into(d::native_socket s, char* data, std::size_t size) {
  return [=](OVERLAPPED* ov, unsigned long& n) -> unsigned long {
    WSABUF buf{static_cast<ULONG>(size), data};
    DWORD got = 0;
    DWORD flags = 0;
    if (::WSARecv(s, &buf, 1, &got, &flags, ov, nullptr) == 0) {
      n = got;
      return 0;
    }
    return static_cast<unsigned long>(::WSAGetLastError());
  };
}

auto send_from(d::native_socket s, const char* data, std::size_t size) {
  return [=](OVERLAPPED* ov, unsigned long& n) -> unsigned long {
    WSABUF buf{static_cast<ULONG>(size), const_cast<char*>(data)};
    DWORD sent = 0;
    if (::WSASend(s, &buf, 1, &sent, 0, ov, nullptr) == 0) {
      n = sent;
      return 0;
    }
    return static_cast<unsigned long>(::WSAGetLastError());
  };
}

/// Awaits an awaiter that lives elsewhere (g++ 12 copies an lvalue operand
/// of co_await, and ops cannot be copied).
template <class A>
struct by_ref {
  A* a;
  bool await_ready() { return a->await_ready(); }
  template <class P>
  auto await_suspend(std::coroutine_handle<P> h) {
    return a->await_suspend(h);
  }
  auto await_resume() { return a->await_resume(); }
};

/// An op completed only by iocp_backend::post().
struct posted : d::iocp_op {
  std::coroutine_handle<> handle;
  task_context* ctx = nullptr;
  posted() : d::iocp_op(&done) {}
  static void done(d::iocp_op* op) noexcept {
    auto* self = static_cast<posted*>(op);
    self->ctx->loop->schedule(self->handle, self->ctx);
  }
  bool await_ready() const noexcept { return false; }
  template <class P>
  void await_suspend(std::coroutine_handle<P> h) noexcept {
    handle = h;
    ctx = h.promise().context_;
  }
  void await_resume() const noexcept {}
};

/// Yields until `pred` holds (the loop polls the port between turns).
template <class Pred>
task<void> until(Pred pred) {
  for (int i = 0; i < 1'000'000; ++i) {
    if (pred()) co_return;
    co_await yield();
  }
  FAIL("condition never became true");
}

}  // namespace

namespace {
/// An op whose complete function sets a flag.
struct flagged : d::iocp_op {
  bool* called;
  explicit flagged(bool* c)
      : d::iocp_op([](d::iocp_op* op) noexcept { *static_cast<flagged*>(op)->called = true; }),
        called(c) {}
};
/// Starts a WSARecv on `fd` with nothing to read yet: pending.
void start_pending_recv(d::iocp_backend& backend, d::iocp_op& op, d::native_socket fd, char* in,
                        std::size_t len) {
  backend.begin(op, fd);
  unsigned long n = 0;
  const unsigned long e = recv_into(fd, in, len)(op.overlapped(), n);
  REQUIRE(backend.submitted(op, e, n) == d::iocp_backend::submit_result::pending);
}
}  // namespace

TEST_CASE("io_context on Windows is the IOCP backend") {
  CHECK(std::string_view(io_context::backend_name()) == "iocp");
  io_context io;
  CHECK(io.registered_descriptors() == 0);
  CHECK(io.pending_operations() == 0);
  CHECK(io.backend().port() != nullptr);
}

TEST_CASE("overlapped WSARecv and WSASend on a loopback pair complete through the port") {
  io_context io;
  auto& backend = io.backend();
  {
    tcp_pair p(io);
    CHECK(io.registered_descriptors() == 2);
    io.run([](io_context& io, tcp_pair& p) -> task<void> {
      auto& backend = io.backend();
      // A receive with nothing to read is pending; the send that feeds it
      // completes (inline or by its packet); then the receive's packet comes.
      char in[64] = {};
      result got;
      co_await with_scope([&](task_scope& scope) -> task<void> {
        scope.spawn([&]() -> task<void> {
          got = co_await call(backend, p.b, recv_into(p.b.fd, in, sizeof in));
        });
        co_await until([&] { return io.pending_operations() == 1; });
        static const char hello[] = "hello";
        const result sent = co_await call(backend, p.a, send_from(p.a.fd, hello, 5));
        CHECK(sent.error == 0);
        CHECK(sent.bytes == 5);
      });
      CHECK(got.error == 0);
      CHECK(got.bytes == 5);
      CHECK(std::string_view(in, got.bytes) == "hello");
      CHECK(io.pending_operations() == 0);

      // 4 MiB one way, received in pieces: every byte arrives, in order.
      std::vector<char> out(4 << 20);
      for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<char>(i * 7 + i / 4096);
      std::vector<char> back(out.size());
      std::size_t received = 0;
      co_await with_scope([&](task_scope& scope) -> task<void> {
        scope.spawn([&]() -> task<void> {
          std::size_t sent = 0;
          while (sent < out.size()) {
            const result r = co_await call(backend, p.a,
                                           send_from(p.a.fd, out.data() + sent, out.size() - sent));
            REQUIRE(r.error == 0);
            REQUIRE(r.bytes > 0);
            sent += r.bytes;
          }
        });
        while (received < back.size()) {
          const result r =
              co_await call(backend, p.b,
                            recv_into(p.b.fd, back.data() + received,
                                      std::min<std::size_t>(65536, back.size() - received)));
          REQUIRE(r.error == 0);
          REQUIRE(r.bytes > 0);
          received += r.bytes;
        }
      });
      CHECK(received == out.size());
      CHECK(back == out);
      CHECK(io.pending_operations() == 0);
    }(io, p));
  }
  CHECK(io.registered_descriptors() == 0);
  CHECK(backend.pending_operations() == 0);
}

TEST_CASE(
    "with FILE_SKIP_COMPLETION_PORT_ON_SUCCESS, a call that succeeds at once is done inline") {
  io_context io;
  tcp_pair p(io);
  REQUIRE(p.a.skip_on_success);  // (refused only by a non-IFS layered provider)
  io.run([](io_context& io, tcp_pair& p) -> task<void> {
    auto& backend = io.backend();
    static const char data[] = "abc";
    auto send = call(backend, p.a, send_from(p.a.fd, data, 3));
    const result sent = co_await by_ref<decltype(send)>{&send};
    CHECK(send.went_inline);  // a small send into an empty buffer: no packet
    CHECK(sent.error == 0);
    CHECK(sent.bytes == 3);
    co_await until([&] {
      u_long n = 0;
      return ::ioctlsocket(p.b.fd, FIONREAD, &n) == 0 && n == 3;
    });
    char in[8];
    auto recv = call(backend, p.b, recv_into(p.b.fd, in, sizeof in));
    const result got = co_await by_ref<decltype(recv)>{&recv};
    CHECK(recv.went_inline);  // the data is there already
    CHECK(got.bytes == 3);
    CHECK(std::string_view(in, 3) == "abc");
    CHECK(io.pending_operations() == 0);
  }(io, p));
}

TEST_CASE("CancelIoEx ends a pending receive through its packet, with ERROR_OPERATION_ABORTED") {
  io_context io;
  tcp_pair p(io);
  io.run([](io_context& io, tcp_pair& p) -> task<void> {
    auto& backend = io.backend();
    char in[16];
    auto op = call(backend, p.b, recv_into(p.b.fd, in, sizeof in));
    result got;
    bool resumed = false;
    co_await with_scope([&](task_scope& scope) -> task<void> {
      scope.spawn([&]() -> task<void> {
        got = co_await by_ref<decltype(op)>{&op};
        resumed = true;
      });
      co_await until([&] { return io.pending_operations() == 1; });
      CHECK(op.in_flight);
      CHECK(backend.cancel(op));
      // Cancelling is a request: the op stays pending until its packet.
      CHECK(op.in_flight);
      CHECK(!resumed);
    });
    CHECK(resumed);
    CHECK(!op.in_flight);
    CHECK(got.error == ERROR_OPERATION_ABORTED);
    CHECK(!backend.cancel(op));  // nothing left to cancel
    CHECK(io.pending_operations() == 0);
  }(io, p));
}

TEST_CASE("abandon() takes a pending op's packet before its memory goes, dispatching others") {
  io_context io;
  tcp_pair p(io);
  auto& backend = io.backend();
  bool called = false;
  bool other_done = false;
  flagged other(&other_done);
  {
    flagged op(&called);
    char in[16];
    start_pending_recv(backend, op, p.b.fd, in, sizeof in);
    REQUIRE(backend.post(other, 0, 7));  // its packet is in the port first
    CHECK(io.pending_operations() == 2);
    backend.abandon(op);  // before `op` and `in` go out of scope
    CHECK(!op.in_flight);
  }
  CHECK(!called);     // an abandoned op's complete function is not called
  CHECK(other_done);  // the packet that came first was dispatched
  CHECK(io.pending_operations() == 0);
}

TEST_CASE("a cancel that finds nothing, its op still pending, is asked again until the packet") {
  // CancelIoEx answers ERROR_NOT_FOUND for an op that has completed with
  // its packet still in the port (and, under Wine, for a pending send between
  // two attempts, where the cancel would otherwise be lost). The backend keeps
  // asking on each wait until the op's packet is taken.
  io_context io;
  tcp_pair p(io);
  auto& backend = io.backend();
  bool called = false;
  flagged op(&called);
  char in[16];
  start_pending_recv(backend, op, p.b.fd, in, sizeof in);
  REQUIRE(::send(p.a.fd, "hello", 5, 0) == 5);
  // The receive completes in the kernel; its packet waits in the port.
  for (int i = 0; i < 10'000 && !HasOverlappedIoCompleted(&op.ov); ++i)
    ::Sleep(1);
  REQUIRE(HasOverlappedIoCompleted(&op.ov));
  CHECK(!backend.cancel(op));  // too late: ERROR_NOT_FOUND
  CHECK(op.cancel_again);
  CHECK(op.in_flight);
  for (int i = 0; i < 10'000 && op.in_flight; ++i)
    backend.wait(std::chrono::nanoseconds::zero());
  CHECK(!op.in_flight);
  CHECK(!op.cancel_again);
  CHECK(called);
  CHECK(op.error == 0);  // the op's real result: the cancel came after it
  CHECK(op.bytes == 5);
  CHECK(std::string_view(in, 5) == "hello");
  CHECK(io.pending_operations() == 0);
}

TEST_CASE("io_context::close() cancels pending ops, which end marked aborted") {
  io_context io;
  tcp_pair p(io);
  io.run([](io_context& io, tcp_pair& p) -> task<void> {
    auto& backend = io.backend();
    char in1[16];
    char in2[16];
    result r1;
    result r2;
    co_await with_scope([&](task_scope& scope) -> task<void> {
      scope.spawn([&]() -> task<void> {
        r1 = co_await call(backend, p.a, recv_into(p.a.fd, in1, sizeof in1));
      });
      scope.spawn([&]() -> task<void> {
        r2 = co_await call(backend, p.b, recv_into(p.b.fd, in2, sizeof in2));
      });
      co_await until([&] { return io.pending_operations() == 2; });
      CHECK(!io.closed());
      io.close();
      CHECK(io.closed());
    });
    CHECK(r1.aborted);
    CHECK(r2.aborted);
    CHECK(r1.error != 0);
    CHECK(r2.error != 0);
    CHECK(io.pending_operations() == 0);
  }(io, p));
}

TEST_CASE("closing a socket ends its pending op through its packet") {
  io_context io;
  tcp_pair p(io);
  io.run([](io_context& io, tcp_pair& p) -> task<void> {
    auto& backend = io.backend();
    char in[16];
    result got;
    co_await with_scope([&](task_scope& scope) -> task<void> {
      scope.spawn([&]() -> task<void> {
        got = co_await call(backend, p.b, recv_into(p.b.fd, in, sizeof in));
      });
      co_await until([&] { return io.pending_operations() == 1; });
      d::close_socket(p.b.fd);  // the packet still comes, with an error
      p.b.fd = d::invalid_socket;
    });
    CHECK(got.error != 0);
    CHECK(!got.aborted);
    CHECK(io.pending_operations() == 0);
    backend.remove(p.b);
    CHECK(io.registered_descriptors() == 1);
  }(io, p));
}

TEST_CASE("the peer's close ends a pending receive with 0 bytes") {
  io_context io;
  tcp_pair p(io);
  io.run([](io_context& io, tcp_pair& p) -> task<void> {
    auto& backend = io.backend();
    char in[16];
    result got{1, 1, false};
    co_await with_scope([&](task_scope& scope) -> task<void> {
      scope.spawn([&]() -> task<void> {
        got = co_await call(backend, p.b, recv_into(p.b.fd, in, sizeof in));
      });
      co_await until([&] { return io.pending_operations() == 1; });
      ::shutdown(p.a.fd, SD_SEND);
    });
    CHECK(got.error == 0);
    CHECK(got.bytes == 0);
  }(io, p));
}

TEST_CASE("post() completes an op through the port on a later turn") {
  io_context io;
  io.run([](io_context& io) -> task<void> {
    posted op;
    auto& backend = io.backend();
    REQUIRE(backend.post(op, 1234, 42));
    CHECK(op.in_flight);
    CHECK(io.pending_operations() == 1);
    co_await by_ref<posted>{&op};  // resumed by the packet
    CHECK(!op.in_flight);
    CHECK(op.error == 1234);
    CHECK(op.bytes == 42);
    CHECK(io.pending_operations() == 0);
  }(io));
}

TEST_CASE("Winsock errors map to io_errc") {
  CHECK(d::errc_from_errno(WSAECONNREFUSED) == io_errc::refused);
  CHECK(d::errc_from_errno(WSAECONNRESET) == io_errc::reset);
  CHECK(d::errc_from_errno(WSAEADDRINUSE) == io_errc::address_in_use);
  CHECK(d::errc_from_errno(WSAENOTSOCK) == io_errc::closed);
  CHECK(d::errc_from_errno(WSAETIMEDOUT) == io_errc::timed_out);
  try {
    d::throw_errno(WSAECONNREFUSED, "connect");
    FAIL("no throw");
  } catch (const io_error& e) {
    CHECK(e.errc() == io_errc::refused);
    CHECK(e.system_code().value() == WSAECONNREFUSED);
    CHECK(std::string(e.what()).find("netaio: connect: connection refused (") == 0);
  }
}
