// framed_stream: whole frames out of a TCP stream however the bytes arrive,
// bad frames skipped or reported, the end of the stream told apart from a
// cut frame, cancellation losing nothing, writes one, several and gathered,
// and no allocation per frame once the buffer has grown.
#include <netaio/core.hpp>
#include <netaio/io.hpp>
#include <netaio/node/framed_stream.hpp>
#include <netaio/wire.hpp>

#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "io/io_support.hpp"
#include "support/fd_count.hpp"
#include "support/io_run.hpp"

using namespace netaio;

#include "support/counting_new.hpp"

namespace {

std::string text(byte_view b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

message msg(std::string_view content, std::string_view uri) {
  auth_fields a;
  a.set("nonce", as_bytes("0123456789abcdef"));
  return message::prepare(body::prepare(as_bytes(content), as_bytes(uri)),
                          message_type::publish_uri, a);
}

byte_buffer frame(std::string_view content, std::string_view uri = "/u") {
  return msg(content, uri).encode();
}

void append(byte_buffer& to, const byte_buffer& b) {
  to.insert(to.end(), b.begin(), b.end());
}

/// A raw client stream and the server's end of it as a framed stream.
struct framed_pair {
  tcp_listener listener;
  tcp_stream raw;
  framed_stream framed;
};

task<framed_pair> make_pair(io_context& io, framed_stream_options options = {}) {
  framed_pair p;
  p.listener = tcp_listener::bind(io, endpoint::parse("127.0.0.1:0"));
  p.raw = co_await tcp_stream::connect(io, p.listener.local_endpoint());
  p.framed = framed_stream(co_await p.listener.accept(), options);
  co_return p;
}

template <class Body>
void run_io(Body body) {
  test::run_io_checked(body);
}

/// Writes `bytes` in pieces of `piece`, letting the loop turn in between so
/// the reader sees each piece on its own.
task<void> dribble(tcp_stream& s, byte_view bytes, std::size_t piece) {
  for (std::size_t at = 0; at < bytes.size(); at += piece) {
    co_await s.write_all(bytes.subspan(at, std::min(piece, bytes.size() - at)));
    for (int i = 0; i < 3; ++i)
      co_await yield();
  }
}

}  // namespace

TEST_CASE("many frames in one read are handed out one by one without reading again") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await make_pair(io);
    byte_buffer all;
    for (int i = 0; i < 50; ++i)
      append(all, frame("content " + std::to_string(i), "/n/" + std::to_string(i)));
    co_await p.raw.write_all(all);
    co_await test::wait_until([&] {
      return test::unread_bytes(p.framed.stream().native_handle()) == static_cast<int>(all.size());
    });
    const frame_read first = co_await p.framed.read_frame();
    REQUIRE(first);
    CHECK(text(first.frame.uri) == "/n/0");
    // Everything came in with the first read...
    CHECK(test::unread_bytes(p.framed.stream().native_handle()) == 0);
    CHECK(p.framed.buffered() == all.size() - first.size);
    // ...and the rest is parsed from the buffer.
    for (int i = 1; i < 50; ++i) {
      const frame_read r = co_await p.framed.read_frame();
      REQUIRE(r);
      CHECK(text(r.frame.uri) == "/n/" + std::to_string(i));
      CHECK(text(r.frame.content) == "content " + std::to_string(i));
      CHECK(r.frame.header.message_type() == message_type::publish_uri);
    }
    CHECK(p.framed.buffered() == 0);
    p.raw.close();
    CHECK((co_await p.framed.read_frame()).status == frame_read_status::end_of_stream);
  });
}

TEST_CASE("one frame over many reads, growing and compacting a small buffer") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await make_pair(io, {.initial_buffer = 64});
    const message big = msg(std::string(3000, 'x'), "/big");
    byte_buffer bytes = frame("small", "/s");  // leaves a partial frame behind it
    append(bytes, big.encode());
    append(bytes, frame("after", "/a"));
    task_scope scope{co_await this_context()};
    scope.spawn(dribble(p.raw, bytes, 7));
    frame_read r = co_await p.framed.read_frame();
    REQUIRE(r);
    CHECK(text(r.frame.uri) == "/s");
    r = co_await p.framed.read_frame();
    REQUIRE(r);
    CHECK(r.to_message() == big);
    CHECK(r.size == big.encode().size());
    CHECK(p.framed.buffer_capacity() >= r.size);
    CHECK(p.framed.buffer_capacity() <= max_default_frame_size);
    r = co_await p.framed.read_frame();
    REQUIRE(r);
    CHECK(text(r.frame.content) == "after");
    co_await scope.join();
  });
}

TEST_CASE("a frame with a bad checksum is skipped and the next one read") {
  run_io([](io_context& io) -> task<void> {
    byte_buffer bad = frame("two", "/2");
    bad.back() ^= 1;
    byte_buffer all = frame("one", "/1");
    append(all, bad);
    append(all, frame("three", "/3"));
    for (const std::size_t piece : {all.size(), std::size_t{1}}) {  // at once, a byte at a time
      CAPTURE(piece);
      auto p = co_await make_pair(io);
      task_scope scope{co_await this_context()};
      scope.spawn(dribble(p.raw, all, piece));
      frame_read r = co_await p.framed.read_frame();
      REQUIRE(r);
      CHECK(text(r.frame.uri) == "/1");
      r = co_await p.framed.read_frame();
      CHECK(r.status == frame_read_status::malformed);
      CHECK(r.error == wire_errc::checksum_mismatch);
      CHECK(std::string(r.what) == "checksum mismatch");
      CHECK(r.skipped());
      CHECK(r.size == bad.size());
      r = co_await p.framed.read_frame();
      REQUIRE(r);
      CHECK(text(r.frame.uri) == "/3");
      co_await scope.join();
    }
  });
}

TEST_CASE("a frame too large is reported from its header; the read side stays ended") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await make_pair(io, {.max_frame_size = 100, .initial_buffer = 32});
    byte_buffer all = frame("fits", "/ok");
    REQUIRE(all.size() <= 100);
    append(all, frame(std::string(500, 'x')));
    append(all, frame("never read"));
    co_await p.raw.write_all(all);
    frame_read r = co_await p.framed.read_frame();
    REQUIRE(r);
    for (int i = 0; i < 2; ++i) {
      r = co_await p.framed.read_frame();
      CHECK(r.status == frame_read_status::malformed);
      CHECK(r.error == wire_errc::frame_too_large);
      CHECK_FALSE(r.skipped());
    }
    CHECK(p.framed.buffer_capacity() <= 100);  // never grown for the big frame
  });
}

TEST_CASE("an unknown message type cannot be delimited: reported, and reported again") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await make_pair(io);
    byte_buffer f = frame("x");
    f[0] = 200;
    co_await p.raw.write_all(f);
    for (int i = 0; i < 2; ++i) {
      const frame_read r = co_await p.framed.read_frame();
      CHECK(r.status == frame_read_status::malformed);
      CHECK(r.error == wire_errc::unknown_message_type);
      CHECK_FALSE(r.skipped());
    }
  });
}

TEST_CASE("end of stream between frames and in the middle of one are told apart") {
  run_io([](io_context& io) -> task<void> {
    const byte_buffer f = frame("whole");
    {  // clean: after a whole frame
      auto p = co_await make_pair(io);
      co_await p.raw.write_all(f);
      p.raw.shutdown(shutdown_how::send);
      CHECK(co_await p.framed.read_frame());
      for (int i = 0; i < 2; ++i) {  // and stays so
        const frame_read r = co_await p.framed.read_frame();
        CHECK(r.status == frame_read_status::end_of_stream);
        CHECK(r.size == 0);
      }
    }
    {  // in the middle of the header
      auto p = co_await make_pair(io);
      co_await p.raw.write_all(byte_view(f).first(4));
      p.raw.shutdown(shutdown_how::send);
      const frame_read r = co_await p.framed.read_frame();
      CHECK(r.status == frame_read_status::truncated);
      CHECK(r.size == 4);
    }
    {  // in the middle of the body, after a whole frame
      auto p = co_await make_pair(io);
      co_await p.raw.write_all(f);
      co_await p.raw.write_all(byte_view(f).first(f.size() - 1));
      p.raw.shutdown(shutdown_how::send);
      CHECK(co_await p.framed.read_frame());
      for (int i = 0; i < 2; ++i) {
        const frame_read r = co_await p.framed.read_frame();
        CHECK(r.status == frame_read_status::truncated);
        CHECK(r.size == f.size() - 1);
      }
    }
  });
}

TEST_CASE("a read cancelled mid-frame loses nothing: the next read finishes the frame") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await make_pair(io, {.initial_buffer = 64});
    const message m = msg(std::string(1000, 'y'), "/cancel");
    const byte_buffer f = m.encode();
    co_await p.raw.write_all(byte_view(f).first(600));
    std::string outcome;
    {
      task_scope scope{co_await this_context()};
      scope.spawn(test::record(p.framed.read_frame(), outcome));
      co_await test::wait_until(
          [&] { return io.pending_operations() == 1 && p.framed.buffered() == 600; });
      const auto at = io.now();
      scope.cancel();
      co_await scope.join();
      CHECK(io.now() == at);
    }
    CHECK(outcome == "cancelled");
    CHECK(p.framed.buffered() == 600);
    co_await p.raw.write_all(byte_view(f).subspan(600));
    const frame_read r = co_await p.framed.read_frame();
    REQUIRE(r);
    CHECK(r.to_message() == m);
    // A deadline is a cancellation too.
    CHECK_FALSE(co_await move_on_after(std::chrono::seconds(1), [](framed_stream& s) -> task<bool> {
      co_return static_cast<bool>(co_await s.read_frame());
    }(p.framed)));
  });
}

TEST_CASE("bytes a cancelled read_exact left in the stream come first") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await make_pair(io);
    const byte_buffer f = frame("kept");
    co_await p.raw.write_all(byte_view(f).first(5));
    std::array<std::uint8_t, 9> header{};
    CHECK_FALSE(co_await move_on_after(std::chrono::seconds(1),
                                       [](tcp_stream& s, std::span<std::uint8_t> b) -> task<void> {
                                         co_await s.read_exact(b);
                                       }(p.framed.stream(), header)));
    CHECK(p.framed.stream().buffered() == 5);
    co_await p.raw.write_all(byte_view(f).subspan(5));
    const frame_read r = co_await p.framed.read_frame();
    REQUIRE(r);
    CHECK(text(r.frame.content) == "kept");
  });
}

TEST_CASE("write_frame, write_frames and write_encoded reach a framed reader intact") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await make_pair(io);
    framed_stream writer(std::move(p.raw));
    const message a = msg("a", "/a");  // const: encoded without being changed
    co_await writer.write_frame(a);
    const std::vector<message> batch = {msg("b", "/b"), msg("c", "/c"), make_ok_msg()};
    co_await writer.write_frames(batch);
    const byte_buffer d = frame("d", "/d");
    const byte_buffer e = frame("e", "/e");
    const byte_view parts[] = {d, e};
    co_await writer.write_encoded(parts);
    std::string seen;
    for (int i = 0; i < 6; ++i) {
      const frame_read r = co_await p.framed.read_frame();
      REQUIRE(r);
      seen += text(r.frame.uri) + ",";
      if (i == 0) CHECK(r.to_message() == a);
    }
    CHECK(seen == "/a,/b,/c,,/d,/e,");
  });
}

TEST_CASE("one frame write at a time; a message too long to encode sends nothing") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await make_pair(io);
    framed_stream writer(std::move(p.raw));
    {
      auto pending = writer.write_frame(msg("first", "/1"));
      try {
        (void)writer.write_frame(msg("second", "/2"));
        FAIL("a second frame write was accepted");
      } catch (const io_error& e) {
        CHECK(e.errc() == io_errc::operation_pending);
      }
      co_await std::move(pending);
    }
    message big = msg("x", "/big");
    big.auth_data().set("pad", byte_buffer(70000, 0));
    CHECK_THROWS_AS(writer.write_frame(big), wire_error);
    co_await writer.write_frame(msg("third", "/3"));  // not blocked by the failure
    writer.close();
    CHECK(text((co_await p.framed.read_frame()).frame.uri) == "/1");
    CHECK(text((co_await p.framed.read_frame()).frame.uri) == "/3");
    CHECK((co_await p.framed.read_frame()).status == frame_read_status::end_of_stream);
  });
}

TEST_CASE("a reset peer is an io_error; closing under a pending read ends it as closed") {
  run_io([](io_context& io) -> task<void> {
    {
      auto p = co_await make_pair(io);
      co_await p.raw.write_all(byte_view(frame("cut")).first(5));
      const linger abort_on_close{1, 0};
      ::setsockopt(p.raw.native_handle(), SOL_SOCKET, SO_LINGER, &abort_on_close,
                   sizeof abort_on_close);
      p.raw.close();  // RST
      try {
        (void)co_await p.framed.read_frame();
        FAIL("no error");
      } catch (const io_error& e) {
        CHECK(e.errc() == io_errc::reset);
      }
    }
    // Closed with frames still buffered: they are handed out first, then
    // the read ends as closed, without a throw (the half frame is dropped).
    auto p = co_await make_pair(io);
    byte_buffer bytes = frame("one", "/a");
    append(bytes, frame("two", "/b"));
    const byte_buffer cut = frame("cut", "/c");
    bytes.insert(bytes.end(), cut.begin(), cut.begin() + 4);
    co_await p.raw.write_all(bytes);
    CHECK(text((co_await p.framed.read_frame()).frame.uri) == "/a");  // one recv took it all
    p.framed.close();
    CHECK(text((co_await p.framed.read_frame()).frame.uri) == "/b");
    CHECK((co_await p.framed.read_frame()).status == frame_read_status::closed);
    CHECK((co_await p.framed.read_frame()).status == frame_read_status::closed);
    // Closed under a pending read: closed, not io_error(closed) (how a
    // server's stop ends its receive loops).
    auto q = co_await make_pair(io);
    std::optional<frame_read_status> status;
    bool threw = false;
    {
      task_scope scope{co_await this_context()};
      scope.spawn([&]() -> task<void> {
        try {
          status = (co_await q.framed.read_frame()).status;
        } catch (...) {
          threw = true;
        }
      });
      co_await test::wait_until([&] { return io.pending_operations() == 1; });
      q.framed.close();
      co_await scope.join();
    }
    CHECK_FALSE(threw);
    CHECK(status == frame_read_status::closed);
    // A read cancelled, then closed before its task resumes, stays a
    // cancellation.
    auto r = co_await make_pair(io);
    std::string outcome;
    {
      task_scope scope{co_await this_context()};
      scope.spawn(test::record(r.framed.read_frame(), outcome));
      co_await test::wait_until([&] { return io.pending_operations() == 1; });
      scope.cancel();
      r.framed.close();
      co_await scope.join();
    }
    CHECK(outcome == "cancelled");
  });
}

TEST_CASE("no allocation per frame once the buffer has grown") {
  run_io([](io_context& io) -> task<void> {
    auto p = co_await make_pair(io, {.initial_buffer = 1024});
    byte_buffer all;
    constexpr int count = 300;
    for (int i = 0; i < count; ++i)
      append(all, frame(std::string(static_cast<std::size_t>(i % 50), 'z'), "/alloc"));
    task_scope scope{co_await this_context()};
    scope.spawn(dribble(p.raw, all, 1500));         // frames cut across reads, compaction needed
    frame_read r = co_await p.framed.read_frame();  // the first read allocates the buffer
    REQUIRE(r);
    const std::size_t before = test::allocations.load();
    int read = 1;
    std::size_t crc_sum = 0;
    for (; read < count; ++read) {
      r = co_await p.framed.read_frame();
      if (!r) break;
      crc_sum += r.frame.header.checksum();
    }
    const std::size_t after = test::allocations.load();
    CHECK(read == count);
    CHECK(crc_sum != 0);
    // The writer task allocates nothing per piece either (write_all, yield).
    if (NETAIO_TEST_COUNT_ALLOCATIONS) CHECK(after == before);
    co_await scope.join();
  });
}
