// The frame reader: partial frames byte by byte, many frames in one buffer,
// every rejection, views into the buffer and no allocation per frame.
#include <doctest/doctest.h>
#include <netaio/wire.hpp>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

using namespace netaio;

#include "support/counting_new.hpp"

namespace {

std::string text(byte_view b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

byte_buffer frame_of(std::string_view content, std::string_view uri = "/uri",
                     message_type t = message_type::publish_uri) {
  auth_fields a;
  a.set("nonce", as_bytes("0123456789abcdef"));
  message m = message::prepare(body::prepare(as_bytes(content), as_bytes(uri)), t, a);
  return m.encode();
}

frame_status status_of(const byte_buffer& b, wire_errc* err = nullptr) {
  const auto r = frame_reader{}.parse(b);
  if (err) *err = r.error;
  return r.status;
}

wire_errc error_of(const byte_buffer& b) {
  const auto r = frame_reader{}.parse(b);
  CHECK(r.status == frame_status::malformed);
  CHECK_THROWS_AS(r.throw_if_malformed(), wire_error);
  return r.error;
}

}  // namespace

TEST_CASE("a complete frame is handed out as views into the buffer") {
  const byte_buffer f = frame_of("hello", "/greet");
  const frame_reader reader;
  const auto before = test::allocations.load();
  const auto r = reader.parse(f);
  const auto after = test::allocations.load();
  CHECK(after == before);  // no allocation per frame
  REQUIRE(r);
  CHECK(r.needed == f.size());
  CHECK(r.frame.size() == f.size());
  CHECK(r.frame.header.message_type() == message_type::publish_uri);
  CHECK(text(r.frame.uri) == "/greet");
  CHECK(text(r.frame.content) == "hello");
  CHECK(r.frame.content.data() >= f.data());
  CHECK(r.frame.content.data() + r.frame.content.size() <= f.data() + f.size());
  CHECK(r.frame.bytes.data() == f.data());
  CHECK(auth_fields::find_in(r.frame.auth, "nonce").has_value());
  const message m = r.to_message();
  CHECK(text(m.body().content()) == "hello");
#if NETAIO_TEST_COUNT_ALLOCATIONS
  CHECK(test::allocations.load() > after);  // the counter counts: an owned message allocates
#endif
}

TEST_CASE("partial frames, byte by byte") {
  const byte_buffer f = frame_of("partial content", "/p");
  const frame_reader reader;
  for (std::size_t n = 0; n < f.size(); ++n) {
    const auto r = reader.parse(byte_view(f).first(n));
    REQUIRE(r.status == frame_status::incomplete);
    if (n < header::header_length())
      CHECK(r.needed == header::header_length());
    else
      CHECK(r.needed == f.size());
    CHECK(r.needed > n);
  }
  const auto r = reader.parse(f);
  CHECK(r.status == frame_status::complete);
}

TEST_CASE("many frames in one buffer") {
  byte_buffer stream;
  const int count = 200;
  for (int i = 0; i < count; ++i) {
    const byte_buffer f = frame_of(std::string(static_cast<std::size_t>(i % 37), 'a' + i % 26),
                                   "/n/" + std::to_string(i));
    stream.insert(stream.end(), f.begin(), f.end());
  }
  const frame_reader reader;
  byte_view rest = stream;
  int seen = 0;
  while (!rest.empty()) {
    const auto r = reader.parse(rest);
    REQUIRE(r.status == frame_status::complete);
    CHECK(text(r.frame.uri) == "/n/" + std::to_string(seen));
    CHECK(r.frame.content.size() == static_cast<std::size_t>(seen % 37));
    rest = rest.subspan(r.needed);
    ++seen;
  }
  CHECK(seen == count);
  // Fed in odd-sized chunks, as from a socket.
  byte_buffer buf;
  std::size_t fed = 0;
  seen = 0;
  while (fed < stream.size() || !buf.empty()) {
    const std::size_t chunk = std::min<std::size_t>(7, stream.size() - fed);
    buf.insert(buf.end(), stream.begin() + static_cast<std::ptrdiff_t>(fed),
               stream.begin() + static_cast<std::ptrdiff_t>(fed + chunk));
    fed += chunk;
    for (;;) {
      const auto r = reader.parse(buf);
      if (r.status != frame_status::complete) {
        REQUIRE(r.status == frame_status::incomplete);
        break;
      }
      CHECK(text(r.frame.uri) == "/n/" + std::to_string(seen++));
      buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r.needed));
    }
    if (chunk == 0) break;
  }
  CHECK(seen == count);
  CHECK(buf.empty());
}

TEST_CASE("rejections: checksum mismatch") {
  byte_buffer f = frame_of("abc");
  f.back() ^= 1;
  CHECK(error_of(f) == wire_errc::checksum_mismatch);
  byte_buffer g = frame_of("abc");
  g[8] ^= 0x80;  // the checksum itself
  CHECK(error_of(g) == wire_errc::checksum_mismatch);
  // The framing is intact: the result says the frame's size, to skip it.
  const auto r = frame_reader{}.parse(f);
  CHECK(r.skippable());
  CHECK(r.needed == f.size());
  CHECK_FALSE(r.frame.bytes.data());  // no views of a bad frame
}

TEST_CASE("a bad frame in a stream is skipped and the next one read, as the reference does") {
  byte_buffer stream = frame_of("one", "/1");
  byte_buffer bad = frame_of("two", "/2");
  bad.back() ^= 1;  // checksum mismatch
  const std::size_t bad_at = stream.size();
  stream.insert(stream.end(), bad.begin(), bad.end());
  const byte_buffer three = frame_of("three", "/3");
  stream.insert(stream.end(), three.begin(), three.end());
  const frame_reader reader;
  byte_view rest = stream;
  std::string seen;
  while (!rest.empty()) {
    const auto r = reader.parse(rest);
    REQUIRE(r.status != frame_status::incomplete);
    if (r.status == frame_status::malformed) {
      CHECK(r.error == wire_errc::checksum_mismatch);
      CHECK(rest.data() == stream.data() + bad_at);
      REQUIRE(r.skippable());
      seen += "[bad]";
    } else {
      seen += text(r.frame.content);
    }
    rest = rest.subspan(r.needed);
  }
  CHECK(seen == "one[bad]three");
}

TEST_CASE("a malformed frame's size is known exactly when its framing is intact") {
  // Bad auth fields and a body shorter than its uri: the header's lengths
  // still delimit the frame.
  message m = make_ok_msg(as_bytes("abc"));
  byte_buffer f = m.encode();
  f[9] = 0x3f;
  auto r = frame_reader{}.parse(f);
  CHECK(r.error == wire_errc::bad_auth_fields);
  CHECK(r.needed == f.size());
  const byte_buffer bad_body = {0x00, 0x09, 'a', 'b'};
  const byte_buffer auth = auth_fields{}.encode();
  byte_buffer g = header(message_type::ok, auth.size(), bad_body.size(), crc32(bad_body)).encode();
  g.insert(g.end(), auth.begin(), auth.end());
  g.insert(g.end(), bad_body.begin(), bad_body.end());
  r = frame_reader{}.parse(g);
  CHECK(r.error == wire_errc::uri_past_body);
  CHECK(r.needed == g.size());
  // An unknown type: the header itself is not trusted, so neither are its lengths.
  byte_buffer h = frame_of("abc");
  h[0] = 200;
  r = frame_reader{}.parse(h);
  CHECK(r.error == wire_errc::unknown_message_type);
  CHECK(r.needed == 0);
  CHECK_FALSE(r.skippable());
  // Too large: the frame is not (and may never be) in the buffer.
  r = frame_reader(16).parse(frame_of("abc"));
  CHECK(r.error == wire_errc::frame_too_large);
  CHECK(r.needed == 0);
  CHECK_FALSE(r.skippable());
  // Complete and incomplete results are never skippable.
  CHECK_FALSE(frame_reader{}.parse(frame_of("abc")).skippable());
  CHECK_FALSE(frame_reader{}.parse(byte_view(h).first(3)).skippable());
}

TEST_CASE("rejections: unknown message type") {
  byte_buffer f = frame_of("abc");
  for (std::uint8_t t : {14, 19, 21, 26, 31, 255}) {
    f[0] = t;
    CHECK(error_of(f) == wire_errc::unknown_message_type);
    // Known from the header alone: no need to wait for the rest.
    CHECK(error_of(byte_buffer(f.begin(), f.begin() + 9)) == wire_errc::unknown_message_type);
  }
}

TEST_CASE("rejections: lengths past the frame (datagrams)") {
  byte_buffer f = frame_of("abc");
  f[4] = static_cast<std::uint8_t>(f[4] + 10);  // body_length + 10
  // A stream just waits for more bytes...
  CHECK(status_of(f) == frame_status::incomplete);
  // ...a datagram is exactly one frame.
  try {
    (void)message::decode(f);
    FAIL("accepted");
  } catch (const wire_error& e) {
    CHECK(e.code() == wire_errc::lengths_past_frame);
  }
}

TEST_CASE("rejections: bad packify in the auth fields") {
  message m = make_ok_msg(as_bytes("abc"));
  byte_buffer f = m.encode();
  REQUIRE(f[9] == 0x4d);
  f[9] = 0x3f;  // unknown packify type
  CHECK(error_of(f) == wire_errc::bad_auth_fields);
  f[9] = 0x4a;  // a list, not a dict
  CHECK(error_of(f) == wire_errc::bad_auth_fields);
  f[9] = 0x4d;
  f[11] = 0x05;  // five items in three bytes
  CHECK(error_of(f) == wire_errc::bad_auth_fields);
  // auth_length 0: the reference cannot decode an empty auth section either.
  byte_buffer body_only = m.body().encode();
  header h(message_type::ok, 0, body_only.size(), crc32(body_only));
  byte_buffer g = h.encode();
  g.insert(g.end(), body_only.begin(), body_only.end());
  CHECK(error_of(g) == wire_errc::bad_auth_fields);
}

TEST_CASE("rejections: body shorter than its uri length") {
  const byte_buffer bad_body = {0x00, 0x09, 'a', 'b'};
  const byte_buffer auth = auth_fields{}.encode();
  header h(message_type::ok, auth.size(), bad_body.size(), crc32(bad_body));
  byte_buffer f = h.encode();
  f.insert(f.end(), auth.begin(), auth.end());
  f.insert(f.end(), bad_body.begin(), bad_body.end());
  CHECK(error_of(f) == wire_errc::uri_past_body);
  const byte_buffer tiny_body = {0x00};
  header h2(message_type::ok, auth.size(), 1, crc32(tiny_body));
  byte_buffer g = h2.encode();
  g.insert(g.end(), auth.begin(), auth.end());
  g.insert(g.end(), tiny_body.begin(), tiny_body.end());
  CHECK(error_of(g) == wire_errc::uri_past_body);
}

TEST_CASE("rejections: frame larger than the configured maximum") {
  const byte_buffer f = frame_of(std::string(100, 'x'));
  const frame_reader small(64);
  CHECK(small.max_frame_size() == 64);
  // Known from the header alone.
  const auto r = small.parse(byte_view(f).first(9));
  CHECK(r.status == frame_status::malformed);
  CHECK(r.error == wire_errc::frame_too_large);
  CHECK(frame_reader(f.size()).parse(f).status == frame_status::complete);
  CHECK(frame_reader(f.size() - 1).parse(f).error == wire_errc::frame_too_large);
}

TEST_CASE("garbage never crashes the reader") {
  // A deterministic walk over mutated frames: every result is one of the three.
  byte_buffer f = frame_of("fuzzish", "/f");
  std::uint32_t x = 12345;
  const frame_reader reader;
  for (int i = 0; i < 5000; ++i) {
    byte_buffer g = f;
    x = x * 1103515245u + 12345u;
    g[x % g.size()] = static_cast<std::uint8_t>(x >> 16);
    const auto r = reader.parse(byte_view(g).first(x % (g.size() + 1)));
    CHECK((r.status == frame_status::complete || r.status == frame_status::incomplete ||
           r.status == frame_status::malformed));
  }
}
