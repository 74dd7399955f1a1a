#include <netaio/core.hpp>
#include <netaio/io.hpp>

#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "io/io_support.hpp"
#include "support/fd_count.hpp"

using namespace netaio;
using namespace std::chrono_literals;

using test::record;
namespace {

template <class Body>
void run_io(Body body) {
  test::fd_baseline fds;
  {
    io_context io({.virtual_time = true});
    io.run(body(io));
    CHECK(io.registered_descriptors() == 0);
  }
  CHECK(fds.delta() == 0);
}

using test::multicast_interface;

}  // namespace

TEST_CASE("datagrams both ways, IPv4 and IPv6") {
  for (std::string where : {"127.0.0.1:0", "[::1]:0"}) {
    CAPTURE(where);
    run_io([&](io_context& io) -> task<void> {
      auto a = udp_socket::bind(io, endpoint::parse(where));
      auto b = udp_socket::bind(io, endpoint::parse(where));
      CHECK(a.local_endpoint().port() != 0);
      co_await a.send_to(std::string_view("ping"), b.local_endpoint());
      std::array<char, 64> buf;
      auto got = co_await b.receive_from(buf);
      CHECK(std::string(buf.data(), got.size) == "ping");
      CHECK(got.from == a.local_endpoint());
      co_await b.send_to(std::string_view("pong"), got.from);
      got = co_await a.receive_from(buf);
      CHECK(std::string(buf.data(), got.size) == "pong");
      // Empty datagrams are datagrams too.
      co_await a.send_to(std::string_view(), b.local_endpoint());
      got = co_await b.receive_from(buf);
      CHECK(got.size == 0);
    });
  }
}

TEST_CASE("an unbound socket gets an ephemeral port from its first send") {
  run_io([](io_context& io) -> task<void> {
    auto rx = udp_socket::bind(io, endpoint::parse("127.0.0.1:0"));
    auto tx = udp_socket::open(io, ip_family::v4);
    co_await tx.send_to(std::string_view("x"), rx.local_endpoint());
    std::array<char, 4> buf;
    auto got = co_await rx.receive_from(buf);
    CHECK(got.from.port() != 0);
    CHECK(got.from.port() == tx.local_endpoint().port());
  });
}

TEST_CASE("datagrams larger than the protocol allows are a clear error") {
  run_io([](io_context& io) -> task<void> {
    auto a = udp_socket::bind(io, endpoint::parse("127.0.0.1:0"));
    std::vector<std::uint8_t> too_big(max_udp_payload(ip_family::v4) + 1);
    try {
      co_await a.send_to(too_big, a.local_endpoint());
      FAIL("sent");
    } catch (const io_error& e) {
      CHECK(e.errc() == io_errc::message_too_large);
      CHECK(std::string(e.what()).find("65507") != std::string::npos);
    }
    // The largest allowed one goes through whole (lo's MTU is 64 KiB).
    test::set_option(a.native_handle(), SOL_SOCKET, SO_RCVBUF, 1 << 20);
    std::vector<std::uint8_t> max(max_udp_payload(ip_family::v4), 7);
    CHECK(co_await a.send_to(max, a.local_endpoint()) == max.size());
    std::vector<std::uint8_t> in(70'000);
    auto got = co_await a.receive_from(in);
    CHECK(got.size == max.size());

    auto v6 = udp_socket::bind(io, endpoint::parse("[::1]:0"));
    std::vector<std::uint8_t> too_big6(max_udp_payload(ip_family::v6) + 1);
    CHECK_THROWS_AS(co_await v6.send_to(too_big6, v6.local_endpoint()), io_error);
  });
}

TEST_CASE("a datagram longer than the buffer is reported, and the next one is intact") {
  run_io([](io_context& io) -> task<void> {
    auto a = udp_socket::bind(io, endpoint::parse("127.0.0.1:0"));
    co_await a.send_to(std::string_view("0123456789"), a.local_endpoint());
    co_await a.send_to(std::string_view("ok"), a.local_endpoint());
    std::array<char, 4> small;
    try {
      (void)co_await a.receive_from(small);
      FAIL("no truncation reported");
    } catch (const io_error& e) {
      CHECK(e.errc() == io_errc::message_truncated);
      // Windows says only that the datagram was longer than the buffer.
      CHECK(std::string(e.what()).find(NETAIO_HAS_IOCP ? "buffer of 4 bytes" : "10 bytes") !=
            std::string::npos);
    }
    auto got = co_await a.receive_from(small);
    CHECK(std::string(small.data(), got.size) == "ok");
  });
}

TEST_CASE("cancel receive and send") {
  run_io([](io_context& io) -> task<void> {
    auto a = udp_socket::bind(io, endpoint::parse("127.0.0.1:0"));
    std::array<char, 16> buf;
    std::string outcome;
    {
      task_scope scope{co_await this_context()};
      scope.spawn(record(a.receive_from(buf), outcome));
      co_await test::wait_until([&] { return io.pending_operations() == 1; });
      scope.cancel();
      co_await scope.join();
      CHECK(outcome == "cancelled");
    }
    // A UDP send never waits on Linux loopback (the kernel frees the send
    // buffer as it delivers), so a send is cancelled at its start: a task
    // whose cancellation was requested does not send.
    auto sink = udp_socket::bind(io, endpoint::parse("127.0.0.1:0"));
    task_scope scope{co_await this_context()};
    scope.cancel();
    outcome.clear();
    scope.spawn(record(a.send_to(std::string_view("never"), sink.local_endpoint()), outcome));
    co_await scope.join();
    CHECK(outcome == "cancelled");
    co_await a.send_to(std::string_view("marker"), sink.local_endpoint());
    auto got = co_await sink.receive_from(buf);
    CHECK(std::string(buf.data(), got.size) == "marker");
    CHECK(io.pending_operations() == 0);
  });
}

TEST_CASE("IPv4 multicast send and receive between two sockets on loopback") {
  run_io([](io_context& io) -> task<void> {
    const ip_address group = ip_address::parse("224.0.0.1");  // the reference's default group
    const ip_address lo = ip_address::loopback();
    auto rx = udp_socket::bind(io, endpoint::parse("0.0.0.0:0"), {.reuse_address = true});
    const std::uint16_t port = rx.local_endpoint().port();
    rx.join_group(group, lo);
    auto tx = udp_socket::open(io, ip_family::v4);
    tx.set_multicast_interface(lo);
    tx.set_multicast_loopback(true);
    tx.set_multicast_ttl(1);
    co_await tx.send_to(std::string_view("hello group"), endpoint{group, port});
    std::array<char, 64> buf;
    auto got = co_await with_timeout(
        5s, [](udp_socket& s, std::array<char, 64>& b) -> task<received_datagram> {
          co_return co_await s.receive_from(b);
        }(rx, buf));
    CHECK(std::string(buf.data(), got.size) == "hello group");
    CHECK(got.from.address() == lo);
    // 224.0.0.1 is the all-hosts group, which the host never leaves; show
    // leave_group with an administratively scoped group instead.
    const ip_address own = ip_address::parse("239.255.42.1");
    rx.join_group(own, lo);
    co_await tx.send_to(std::string_view("joined"), endpoint{own, port});
    got = co_await rx.receive_from(buf);
    CHECK(std::string(buf.data(), got.size) == "joined");
    rx.leave_group(own, lo);
    co_await tx.send_to(std::string_view("gone"), endpoint{own, port});
    co_await rx.send_to(std::string_view("direct"), rx.local_endpoint());  // a marker
    got = co_await rx.receive_from(buf);
    CHECK(std::string(buf.data(), got.size) == "direct");
    CHECK_THROWS_AS(rx.join_group(ip_address::parse("10.0.0.1"), lo), io_error);
    CHECK_THROWS_AS(tx.set_multicast_ttl(256), io_error);
  });
}

TEST_CASE("IPv6 multicast send and receive between two sockets") {
  run_io([](io_context& io) -> task<void> {
    // ff02::1 on lo first; lo often has no IFF_MULTICAST, and then the
    // interface-local group ff01::1 on a multicast interface (traffic for
    // an interface-local group never leaves the host).
    struct choice {
      const char* group;
      unsigned index;
    };
    std::vector<choice> choices;
#if defined(_WIN32)
    MESSAGE(
        "IPv6 multicast skipped on Windows: its interfaces are found by name (lo) or by "
        "getifaddrs here, and Windows needs iphlpapi for either");
    co_return;
#else
    choices.push_back({"ff02::1", interface_index("lo")});
#endif
    if (unsigned m = multicast_interface()) choices.push_back({"ff01::1", m});
    for (const choice& c : choices) {
      const ip_address group = ip_address::parse(c.group);
      auto rx = udp_socket::bind(io, endpoint::parse("[::]:0"), {.reuse_address = true});
      const std::uint16_t port = rx.local_endpoint().port();
      auto tx = udp_socket::open(io, ip_family::v6);
      try {
        rx.join_group(group, c.index);
        tx.set_multicast_interface(c.index);
        tx.set_multicast_loopback(true);
        tx.set_multicast_ttl(1);
        co_await tx.send_to(
            std::string_view("hello v6"),
            endpoint{ip_address::parse(std::string(c.group) + "%" + std::to_string(c.index)),
                     port});
      } catch (const io_error& e) {
        const std::string note = std::string("IPv6 multicast with ") + c.group + " on interface " +
                                 std::to_string(c.index) + " is unavailable here: " + e.what();
        MESSAGE(note);
        continue;
      }
      std::array<char, 64> buf;
      auto got = co_await rx.receive_from(buf);
      CHECK(std::string(buf.data(), got.size) == "hello v6");
      rx.leave_group(group, c.index);
      co_return;
    }
    const std::string note =
        "SKIPPED: no interface here carries IPv6 multicast (lo lacks IFF_MULTICAST)";
    MESSAGE(note);
  });
}
