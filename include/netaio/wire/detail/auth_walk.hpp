// Walks encoded auth fields (a packify dict of str to bytes) in place, checking
// the shape and bounds without allocating: the frame reader's hot path.
#pragma once

#include <netaio/wire/bytes.hpp>
#include <netaio/wire/detail/endian.hpp>
#include <netaio/wire/packify/detail/format.hpp>
#include <netaio/wire/packify/detail/utf8.hpp>
#include <netaio/wire/wire_error.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace netaio::inline v0::detail {

[[noreturn]] inline void bad_auth(const char* what) {
  throw wire_error(wire_errc::bad_auth_fields, what);
}

struct container_head {
  std::uint8_t type;
  std::uint64_t count;
  std::size_t item_width;
  byte_view lengths;  // count * item_width bytes
  byte_view area;     // the items, back to back (possibly followed by ignored bytes)
};

inline container_head read_container(byte_view d, const char* what) {
  namespace pf = packify::detail;
  if (d.empty()) bad_auth(what);
  const std::uint8_t cat = d[0] & pf::length_mask;
  container_head h{};
  h.type = d[0] & pf::type_mask;
  const std::size_t w = pf::width_of(cat);
  if (w == 0 || d.size() < 2 + w) bad_auth(what);
  const std::uint8_t item_cat = d[1];
  if ((item_cat & pf::type_mask) != 0 || item_cat == pf::cat0) bad_auth(what);
  h.item_width = pf::width_of(item_cat);
  h.count = load_be(d.data() + 2, w);
  const byte_view body = d.subspan(2 + w);
  if (h.count > body.size() / h.item_width) bad_auth(what);
  const auto n = static_cast<std::size_t>(h.count);
  h.lengths = body.first(n * h.item_width);
  h.area = body.subspan(n * h.item_width);
  return h;
}

/// Calls fn(item) for each item of a container, bounds-checked.
template <class Fn>
void for_each_item(const container_head& h, Fn&& fn) {
  std::size_t off = 0;
  for (std::size_t i = 0; i < h.count; ++i) {
    const std::uint64_t len = load_be(h.lengths.data() + i * h.item_width, h.item_width);
    if (len > h.area.size() - off) bad_auth("item past its container");
    fn(h.area.subspan(off, static_cast<std::size_t>(len)));
    off += static_cast<std::size_t>(len);
  }
}

/// The payload of a packify str/bytes/bytearray item.
inline byte_view read_sized(byte_view d, bool want_str) {
  namespace pf = packify::detail;
  if (d.empty()) bad_auth("empty key or value");
  const std::uint8_t type = d[0] & pf::type_mask;
  const bool ok =
      want_str ? type == pf::type_str : (type == pf::type_bytes || type == pf::type_bytearray);
  if (!ok) bad_auth(want_str ? "key is not a str" : "value is not bytes");
  const std::size_t w = pf::width_of(d[0]);
  if (w == 0 || d.size() < 1 + w) bad_auth("truncated key or value");
  const std::uint64_t len = load_be(d.data() + 1, w);
  if (len > d.size() - 1 - w) bad_auth("truncated key or value");
  const byte_view payload = d.subspan(1 + w, static_cast<std::size_t>(len));
  if (want_str && !packify::detail::valid_utf8(payload)) bad_auth("key is not valid UTF-8");
  return payload;
}

/// Calls fn(key, value) for each field of encoded auth fields, in encoded order.
/// Throws wire_error(bad_auth_fields) unless `data` is a packify dict of str to bytes.
template <class Fn>
void for_each_auth_field(byte_view data, Fn&& fn) {
  namespace pf = packify::detail;
  const container_head dict = read_container(data, "auth fields are not a packify dict");
  if (dict.type != pf::type_dict) bad_auth("auth fields are not a packify dict");
  for_each_item(dict, [&](byte_view item) {
    const container_head pair = read_container(item, "dict item is not a pair");
    if ((pair.type != pf::type_tuple && pair.type != pf::type_list) || pair.count != 2)
      bad_auth("dict item is not a pair");
    byte_view parts[2];
    std::size_t k = 0;
    for_each_item(pair, [&](byte_view part) { parts[k++] = part; });
    const byte_view key = read_sized(parts[0], true);
    const byte_view val = read_sized(parts[1], false);
    fn(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()), val);
  });
}

}  // namespace netaio::inline v0::detail
