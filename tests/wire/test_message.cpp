// Messages, the reference's helpers, handler keys, and a user-defined body
// working wherever the default does (tests/test_misc.py's scenarios).
#include <doctest/doctest.h>
#include <netaio/wire.hpp>

#include "support/default_types.hpp"

#include <memory>
#include <string>
#include <unordered_set>
#include <utility>

using namespace netaio;

namespace {

std::string text(byte_view b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// A body whose uri length is one byte (a different encoding than the default's).
class short_body {
 public:
  short_body() = default;
  short_body(byte_buffer uri, byte_buffer content)
      : uri_(std::move(uri)), content_(std::move(content)) {}
  static short_body prepare(byte_view content, byte_view uri = {}, std::size_t overhead = 0) {
    if (uri.size() > 255 || content.size() + uri.size() + overhead > 60000)
      throw wire_error(wire_errc::body_too_long, "short_body limits");
    return short_body(to_buffer(uri), to_buffer(content));
  }
  static body_ref parse(byte_view data) {
    if (data.empty() || data[0] > data.size() - 1)
      throw wire_error(wire_errc::uri_past_body, "short_body");
    return {data.subspan(1, data[0]), data.subspan(1u + data[0])};
  }
  static short_body decode(byte_view data) {
    const auto r = parse(data);
    return short_body(to_buffer(r.uri), to_buffer(r.content));
  }
  const byte_buffer& uri() const { return uri_; }
  const byte_buffer& content() const { return content_; }
  std::size_t uri_length() const { return uri_.size(); }
  void encode_to(byte_buffer& out) const {
    out.push_back(static_cast<std::uint8_t>(uri_.size()));
    out.insert(out.end(), uri_.begin(), uri_.end());
    out.insert(out.end(), content_.begin(), content_.end());
  }
  byte_buffer encode() const {
    byte_buffer b;
    encode_to(b);
    return b;
  }
  friend bool operator==(const short_body&, const short_body&) = default;

 private:
  byte_buffer uri_, content_;
};

using short_protocol = protocol<header, auth_fields, short_body>;
using short_message = short_protocol::message_t;

/// A body with reference semantics: copies share one default body, so a
/// change through one copy reaches a message holding another.
class shared_body {
 public:
  shared_body() : b_(std::make_shared<body>()) {}
  explicit shared_body(body b) : b_(std::make_shared<body>(std::move(b))) {}
  static shared_body prepare(byte_view content, byte_view uri = {}, std::size_t overhead = 0) {
    return shared_body(body::prepare(content, uri, overhead));
  }
  static body_ref parse(byte_view data) { return body::parse(data); }
  static shared_body decode(byte_view data) { return shared_body(body::decode(data)); }
  const byte_buffer& uri() const { return b_->uri(); }
  const byte_buffer& content() const { return b_->content(); }
  std::size_t uri_length() const { return b_->uri_length(); }
  std::size_t encoded_size() const { return b_->encoded_size(); }
  std::uint32_t checksum() const { return b_->checksum(); }
  void encode_to(byte_buffer& out) const { b_->encode_to(out); }
  byte_buffer encode() const { return b_->encode(); }

  std::shared_ptr<body> b_;
};

using shared_message = protocol<header, auth_fields, shared_body>::message_t;

static_assert(body_type<short_body>);
static_assert(protocol_policy<short_protocol>);
static_assert(message_protocol<short_message>);
static_assert(!body_type<int>);
static_assert(!header_type<body>);
static_assert(!auth_fields_type<body>);

enum class my_types : std::uint8_t { NETAIO_DEFAULT_TYPES, custom_1 = 50 };
using my_protocol = protocol_for<my_types>;
using my_message = my_protocol::message_t;

}  // namespace

TEST_CASE("message encoding, decoding and copying") {
  message m =
      message::prepare(body::prepare(as_bytes("content"), as_bytes("uri")), message_type::ok,
                       auth_fields{{"test", to_buffer(as_bytes("test"))}});
  const byte_buffer data = m.encode();
  CHECK(m.header().auth_length() + m.header().body_length() + 9 == data.size());
  CHECK(m.check());
  const message decoded = message::decode(data);
  CHECK(text(decoded.body().content()) == "content");
  CHECK(text(decoded.body().uri()) == "uri");
  CHECK(decoded.header().message_type() == message_type::ok);
  CHECK(*decoded.auth_data().find("test") == to_buffer(as_bytes("test")));

  message c = m.copy();
  CHECK(c == m);
  c.body().content() = to_buffer(as_bytes("new content"));
  CHECK(c.body().content() != m.body().content());
  // A changed body fails check() until encode() refreshes the checksum.
  CHECK_FALSE(c.check());
  (void)c.encode();
  CHECK(c.check());

  // Without auth data and with an empty body.
  message e = message::prepare(body::prepare({}, {}), message_type::ok);
  const message ed = message::decode(e.encode());
  CHECK(ed.body().content().empty());
  CHECK(ed.body().uri().empty());
  CHECK(ed.auth_data().empty());
  CHECK(ed.copy() == e);
}

TEST_CASE("message decode is strict about the frame's size") {
  message m = make_ok_msg(as_bytes("x"));
  byte_buffer data = m.encode();
  data.push_back(0);
  CHECK_THROWS_AS(message::decode(data), wire_error);
  data.pop_back();
  data.pop_back();
  try {
    (void)message::decode(data);
    FAIL("accepted a short frame");
  } catch (const wire_error& e) {
    CHECK(e.code() == wire_errc::lengths_past_frame);
  }
}

TEST_CASE("make_error_msg classifies as the reference") {
  message m = make_error_msg("test error");
  CHECK(m.type() == message_type::error);
  CHECK(text(m.body().content()) == "test error");
  CHECK(text(m.body().uri()) == "ERROR");
  CHECK(make_error_msg(as_bytes("test error bytes")).type() == message_type::error);
  CHECK(make_error_msg("not found").type() == message_type::not_found);
  CHECK(make_error_msg(as_bytes("not found")).type() == message_type::not_found);
  CHECK(make_error_msg("auth failed").type() == message_type::auth_error);
  CHECK(make_error_msg(as_bytes("auth failed")).type() == message_type::auth_error);
  CHECK(make_error_msg("not permitted").type() == message_type::not_permitted);
  CHECK(make_error_msg(as_bytes("not permitted")).type() == message_type::not_permitted);
  CHECK(m.check());
}

TEST_CASE("make_error_msg with a uri, as the reference's make_error_msg(msg, uri)") {
  const message m = make_error_msg("bad request", as_bytes("/items"));
  CHECK(m.type() == message_type::error);
  CHECK(text(m.body().content()) == "bad request");
  CHECK(text(m.body().uri()) == "/items");
  CHECK(m.check());
  const message n = make_error_msg(as_bytes("item not found"), as_bytes("/items/7"));
  CHECK(n.type() == message_type::not_found);
  CHECK(text(n.body().uri()) == "/items/7");
  CHECK(make_error_msg("x", {}).body().uri().empty());
}

TEST_CASE("a const message encodes without changing; a non-const one refreshes its header") {
  message m = message::prepare(body::prepare(as_bytes("content"), as_bytes("uri")),
                               message_type::ok, auth_fields{{"k", to_buffer(as_bytes("v"))}});
  const byte_buffer want = m.encode();
  m.body().content() = to_buffer(as_bytes("changed"));
  const message& cm = m;
  const header before = cm.header();
  const byte_buffer enc = cm.encode();
  CHECK(cm.header() == before);  // left as it was: check() still sees the old checksum
  CHECK_FALSE(cm.check());
  const message d = message::decode(enc);  // but the frame carries the right one
  CHECK(d.check());
  CHECK(text(d.body().content()) == "changed");
  CHECK(enc == m.encode());  // the non-const encode gives the same bytes...
  CHECK(m.check());          // ...and refreshes the header, as the reference does
  CHECK(want != enc);
}

TEST_CASE("prepare()'s checksum is reused only while nothing could change the message") {
  // encode() skips the checksum after prepare(); any non-const access, and
  // a move out, make it compute the lengths and checksum again.
  const auto fresh = [](const message& m) {  // the frame computed from scratch
    return message(m.header(), m.auth_data(), m.body()).encode();
  };
  const auto decodes = [](const byte_buffer& f) {
    const message d = message::decode(f);  // throws on a wrong length or checksum
    return d.check();
  };
  message m =
      message::prepare(body::prepare(as_bytes("content"), as_bytes("uri")), message_type::ok);
  const byte_buffer first = std::as_const(m).encode();
  CHECK(first == fresh(m));

  m.header().set_lengths(0, 0, 0);  // a header made wrong by hand is fixed at encode
  CHECK(decodes(std::as_const(m).encode()));
  CHECK(std::as_const(m).encode() == first);

  message a = message::prepare(body::prepare(as_bytes("c")), message_type::ok);
  a.auth_data().set("k", to_buffer(as_bytes("v")));  // longer auth section
  CHECK(decodes(std::as_const(a).encode()));
  CHECK(std::as_const(a).encode() == fresh(a));

  message b = message::prepare(body::prepare(as_bytes("c")), message_type::ok);
  b.body().uri() = to_buffer(as_bytes("new uri"));
  CHECK(decodes(std::as_const(b).encode()));

  message from = message::prepare(body::prepare(as_bytes("moved")), message_type::ok);
  message to = std::move(from);
  CHECK(decodes(std::as_const(to).encode()));
  CHECK(decodes(std::as_const(from).encode()));  // the moved-from one: its own lengths
  message assigned;
  assigned = std::move(to);
  CHECK(decodes(std::as_const(to).encode()));
  CHECK(text(message::decode(std::as_const(assigned).encode()).body().content()) == "moved");
  const message copy = assigned;  // a copy keeps the shortcut: same frame
  CHECK(copy.encode() == fresh(copy));
  CHECK(copy == assigned);

  // A reference taken into a message before it is assigned to reaches the
  // new parts: assignment must not carry the source's "checksum is right".
  for (const bool by_move : {false, true}) {
    message target;
    byte_buffer& content = target.body().content();
    message source = message::prepare(body::prepare(as_bytes("short")), message_type::ok);
    if (by_move) {
      target = std::move(source);
    } else {
      target = source;
    }
    content = to_buffer(as_bytes("a longer content than before"));
    CHECK(decodes(std::as_const(target).encode()));
    CHECK(std::as_const(target).encode() == fresh(target));
  }
}

TEST_CASE("a body with reference semantics changed after prepare() is encoded as it is then") {
  // Only the library's own parts can skip the checksum: this body changes
  // without any accessor of the message being called.
  shared_body b = shared_body::prepare(as_bytes("short"));
  const shared_message m = shared_message::prepare(b, message_type::ok);
  b.b_->content() = to_buffer(as_bytes("a longer content than before"));
  const shared_message d = shared_message::decode(m.encode());  // throws on a stale checksum
  CHECK(text(d.body().content()) == "a longer content than before");
  CHECK(d.check());
}

TEST_CASE("encode_to appends after what the buffer holds; a failed encode leaves it as it was") {
  const message a = make_ok_msg(as_bytes("first"), as_bytes("/a"));
  const message b = make_ok_msg(as_bytes("second"), as_bytes("/b"));
  byte_buffer out;
  a.encode_to(out);
  b.encode_to(out);
  byte_buffer both = a.encode();
  const byte_buffer second = b.encode();
  both.insert(both.end(), second.begin(), second.end());
  CHECK(out == both);

  // An auth section too long for the u16 length: encode throws, out is untouched.
  message big = make_ok_msg(as_bytes("x"));
  big.auth_data().set("pad", byte_buffer(70000, 0x55));
  CHECK_THROWS_AS(static_cast<const message&>(big).encode_to(out), wire_error);
  CHECK_THROWS_AS(big.encode_to(out), wire_error);
  CHECK(out == both);
}

TEST_CASE("make_ok_msg, make_respond_uri_msg") {
  message m = make_ok_msg();
  CHECK(m.type() == message_type::ok);
  CHECK(m.body().content().empty());
  CHECK(m.body().uri().empty());
  m = make_ok_msg(as_bytes("success"));
  CHECK(text(m.body().content()) == "success");
  m = make_ok_msg({}, as_bytes("/test"));
  CHECK(text(m.body().uri()) == "/test");
  m = make_ok_msg(as_bytes("response"), as_bytes("/api/test"));
  CHECK(text(m.body().content()) == "response");
  CHECK(text(m.body().uri()) == "/api/test");
  m = make_respond_uri_msg(as_bytes("content"), as_bytes("/api/endpoint"));
  CHECK(m.type() == message_type::respond_uri);
  CHECK(text(m.body().content()) == "content");
  CHECK(text(m.body().uri()) == "/api/endpoint");
}

TEST_CASE("make_not_found_msg, make_not_permitted_msg") {
  message m = make_not_found_msg();
  CHECK(m.type() == message_type::not_found);
  CHECK(text(m.body().content()) == "not found");
  CHECK(m.body().uri().empty());
  CHECK(text(make_not_found_msg("custom message").body().content()) == "custom message");
  CHECK(text(make_not_found_msg(as_bytes("custom bytes")).body().content()) == "custom bytes");
  m = make_not_found_msg("resource not found", as_bytes("/api/resource"));
  CHECK(text(m.body().uri()) == "/api/resource");
  CHECK(text(make_not_found_msg("not found", as_bytes("/missing")).body().uri()) == "/missing");

  m = make_not_permitted_msg();
  CHECK(m.type() == message_type::not_permitted);
  CHECK(text(m.body().content()) == "not permitted");
  CHECK(text(make_not_permitted_msg("custom error").body().content()) == "custom error");
  CHECK(text(make_not_permitted_msg(as_bytes("bytes error")).body().content()) == "bytes error");
  m = make_not_permitted_msg("access denied", as_bytes("/api/resource"));
  CHECK(m.type() == message_type::not_permitted);
  CHECK(text(m.body().content()) == "access denied");
  CHECK(text(m.body().uri()) == "/api/resource");
}

TEST_CASE("keys_extractor: most specific first, hashable") {
  const message m = make_respond_uri_msg(as_bytes("c"), as_bytes("/u"));
  const peer_address addr{"127.0.0.1", 8888};
  const auto keys = keys_extractor(m, addr);
  CHECK(keys[0] == handler_key::of(message_type::respond_uri, "/u", addr));
  CHECK(keys[1] == handler_key::of(message_type::respond_uri, "/u"));
  CHECK(keys[2] == handler_key::of(message_type::respond_uri));
  CHECK_FALSE(keys[0] == keys[1]);
  // (type, uri, None) differs from (type, uri) and from (type, uri, addr).
  const auto anon = keys_extractor(m);
  CHECK(anon[0] == handler_key::of(message_type::respond_uri, "/u", std::nullopt));
  CHECK_FALSE(anon[0] == anon[1]);
  CHECK_FALSE(anon[0] == keys[0]);
  std::unordered_set<handler_key> set(keys.begin(), keys.end());
  set.insert(anon.begin(), anon.end());
  CHECK(set.size() == 4);
  CHECK(set.count(handler_key::of(message_type::respond_uri, "/u")) == 1);
  CHECK(set.count(handler_key::of(message_type::respond_uri, "/v")) == 0);
}

TEST_CASE("a user-defined body works where the default does") {
  short_message m = short_message::prepare(short_body::prepare(as_bytes("data"), as_bytes("u")),
                                           message_type::create_uri);
  const byte_buffer data = m.encode();
  // 9 header + 3 auth ({}) + 1 uri length + 1 uri + 4 content.
  CHECK(data.size() == 18);
  CHECK(data[12] == 1);
  const short_message d = short_message::decode(data);
  CHECK(d == m);
  CHECK(d.copy() == m);
  CHECK(make_ok_msg<short_message>(as_bytes("ok")).check());
  CHECK(make_error_msg<short_message>("auth").type() == message_type::auth_error);
  const auto keys = keys_extractor(d);
  CHECK(keys[1] == handler_key::of(message_type::create_uri, "u"));

  const basic_frame_reader<short_protocol> reader;
  const auto r = reader.parse(data);
  REQUIRE(r);
  CHECK(text(r.frame.uri) == "u");
  CHECK(text(r.frame.content) == "data");
  CHECK(r.to_message() == m);
  // The default body would read "\x01u" as a uri length of 373: past the body.
  const auto r2 = frame_reader{}.parse(data);
  CHECK(r2.status == frame_status::malformed);
  CHECK(r2.error == wire_errc::uri_past_body);
}

TEST_CASE("a custom message-type enum works end to end") {
  my_message m =
      my_message::prepare(body::prepare(as_bytes("x"), as_bytes("y")), my_types::custom_1);
  const byte_buffer data = m.encode();
  CHECK(data[0] == 50);
  CHECK(my_message::decode(data).type() == my_types::custom_1);
  CHECK(make_not_found_msg<my_message>().type() == my_types::not_found);
  const auto r = basic_frame_reader<my_protocol>{}.parse(data);
  REQUIRE(r);
  CHECK(r.frame.header.message_type() == my_types::custom_1);
  CHECK(frame_reader{}.parse(data).error == wire_errc::unknown_message_type);
}
