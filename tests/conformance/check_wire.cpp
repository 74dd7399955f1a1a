// Wire sections of the conformance runner: packify, header, body, message, reject.
#include <netaio/wire.hpp>

#include <cstdlib>
#include <exception>
#include <string>

#include "report.hpp"
#include "support/hex.hpp"

namespace conformance {
namespace {

using json = nlohmann::json;
using netaio::byte_buffer;
using netaio::packify::value;
using test::from_hex;
using test::to_hex;

std::string short_hex(netaio::byte_view b) {
  std::string s = to_hex(b);
  return s.size() > 80 ? s.substr(0, 80) + "..." : s;
}

/// A packify value from the vectors' typed JSON.
value typed(const json& j) {
  const std::string t = j.at("t").get<std::string>();
  if (t == "none") return value();
  if (t == "bool") return value(j.at("v").get<bool>());
  if (t == "int")
    return value(netaio::packify::big_int::from_decimal(j.at("v").get<std::string>()));
  if (t == "float") {
    const std::string s = j.at("v").get<std::string>();
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (end == s.c_str()) throw std::runtime_error("bad float " + s);
    return value(d);
  }
  if (t == "str") return value(j.at("v").get<std::string>());
  if (t == "bytes") return value::bytes(from_hex(j.at("v").get<std::string>()));
  if (t == "bytearray") return value::bytearray(from_hex(j.at("v").get<std::string>()));
  if (t == "dict") {
    value::dict_type d;
    for (const auto& p : j.at("v"))
      d.emplace_back(typed(p.at(0)), typed(p.at(1)));
    return value::dict(std::move(d));
  }
  value::list_type items;
  for (const auto& x : j.at("v"))
    items.push_back(typed(x));
  if (t == "list") return value::list(std::move(items));
  if (t == "tuple") return value::tuple(std::move(items));
  if (t == "set") return value::set(std::move(items));
  throw std::runtime_error("unknown typed value " + t);
}

template <class Fn>
void each(const json& root, const char* section, report& r, Fn&& fn) {
  if (!root.contains(section)) return;
  std::size_t i = 0;
  for (const auto& v : root.at(section)) {
    std::string why;
    try {
      why = fn(v);
    } catch (const std::exception& e) {
      why = std::string("exception: ") + e.what();
    }
    if (why.empty())
      r.checked(section);
    else
      r.mismatch(section, i, why);
    ++i;
  }
}

std::string check_packify(const json& v) {
  const value val = typed(v.at("value"));
  const byte_buffer packed = from_hex(v.at("packed").get<std::string>());
  const byte_buffer mine = netaio::packify::pack(val);
  if (mine != packed) return "pack gave " + short_hex(mine);
  const value back = netaio::packify::unpack(packed);
  if (netaio::packify::pack(back) != packed) return "unpack then pack differs";
  if (back.type() != val.type()) return "unpack gave another type";
  const auto info = netaio::packify::validate(packed);
  if (info.type != val.type()) return "validate gave another type";
  // Sets and dicts decode in encoded order, so only compare values without them.
  if (val.type() != netaio::packify::kind::set && val.type() != netaio::packify::kind::dict &&
      val.type() != netaio::packify::kind::list && !(back == val))
    return "unpack gave another value";
  if (val.type() == netaio::packify::kind::integer &&
      back.as_big_int().to_decimal() != v.at("value").at("v").get<std::string>())
    return "int decimal text differs";
  return {};
}

std::string check_header(const json& v) {
  const auto type = v.at("message_type").get<int>();
  if (!netaio::is_valid_message_type<netaio::message_type>(static_cast<std::uint8_t>(type)))
    return "message type " + std::to_string(type) + " unknown";
  const netaio::header h(
      static_cast<netaio::message_type>(type), v.at("auth_length").get<std::size_t>(),
      v.at("body_length").get<std::size_t>(), v.at("checksum").get<std::uint32_t>());
  const byte_buffer enc = from_hex(v.at("encoded").get<std::string>());
  if (h.encode() != enc) return "encode gave " + to_hex(h.encode());
  if (!(netaio::header::decode(enc) == h)) return "decode differs";
  return {};
}

std::string check_body(const json& v) {
  const byte_buffer uri = from_hex(v.at("uri").get<std::string>());
  const byte_buffer content = from_hex(v.at("content").get<std::string>());
  const byte_buffer enc = from_hex(v.at("encoded").get<std::string>());
  const netaio::body b = netaio::body::prepare(content, uri);
  if (b.encode() != enc) return "encode gave " + short_hex(b.encode());
  if (netaio::crc32(enc) != v.at("crc32").get<std::uint32_t>()) return "crc32 differs";
  const netaio::body d = netaio::body::decode(enc);
  if (d.uri() != uri || d.content() != content || d.uri_length() != uri.size())
    return "decode differs";
  return {};
}

netaio::message prepared(const json& v) {
  netaio::auth_fields auth;
  for (const auto& [k, val] : v.at("auth_fields").items())
    auth.set(k, from_hex(val.get<std::string>()));
  return netaio::message::prepare(
      netaio::body::prepare(from_hex(v.at("content").get<std::string>()),
                            from_hex(v.at("uri").get<std::string>())),
      static_cast<netaio::message_type>(v.at("message_type").get<int>()), auth);
}

std::string check_message(const json& v) {
  netaio::message m = prepared(v);
  const byte_buffer enc = from_hex(v.at("encoded").get<std::string>());
  const byte_buffer mine = m.encode();
  if (mine != enc) return "encode gave " + short_hex(mine);
  if (!m.check()) return "check() false after encode";
  const netaio::message d = netaio::message::decode(enc);
  if (!(d == m)) return "decode differs";
  if (!(d.copy() == m)) return "copy differs";
  const netaio::frame_reader reader;
  const auto res = reader.parse(enc);
  if (!res || res.needed != enc.size()) return "frame reader did not parse the frame";
  if (!(res.to_message() == m)) return "frame reader's message differs";
  return {};
}

std::string check_reject(const json& v) {
  const std::string why = v.at("why").get<std::string>();
  netaio::wire_errc want{};
  if (why == "checksum mismatch")
    want = netaio::wire_errc::checksum_mismatch;
  else if (why == "unknown message type")
    want = netaio::wire_errc::unknown_message_type;
  else if (why == "bad auth fields")
    want = netaio::wire_errc::bad_auth_fields;
  else
    return "unknown reason '" + why + "'";
  const byte_buffer enc = from_hex(v.at("encoded").get<std::string>());
  try {
    (void)netaio::message::decode(enc);
    return "decode accepted it";
  } catch (const netaio::wire_error& e) {
    if (e.code() != want) return std::string("decode rejected it as ") + e.what();
  }
  const auto res = netaio::frame_reader{}.parse(enc);
  if (res.status != netaio::frame_status::malformed || res.error != want)
    return "frame reader did not reject it as " + why;
  // A frame whose header is valid can be skipped whole; one whose header is
  // not cannot be delimited.
  const std::size_t skip = want == netaio::wire_errc::unknown_message_type ? 0 : enc.size();
  if (res.needed != skip)
    return "frame reader said " + std::to_string(res.needed) + " bytes to skip, not " +
           std::to_string(skip);
  return {};
}

}  // namespace

void check_wire_sections(const nlohmann::json& root, report& r) {
  each(root, "packify", r, check_packify);
  each(root, "header", r, check_header);
  each(root, "body", r, check_body);
  each(root, "message", r, check_message);
  each(root, "reject", r, check_reject);
}

}  // namespace conformance
