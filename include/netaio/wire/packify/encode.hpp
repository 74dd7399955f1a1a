// packify encoding, byte for byte as the reference's pack().
#pragma once

#include <netaio/wire/bytes.hpp>
#include <netaio/wire/packify/detail/format.hpp>
#include <netaio/wire/packify/value.hpp>
#include <netaio/wire/wire_error.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

namespace netaio::inline v0::packify {

void pack_into(const value& v, byte_buffer& out);

namespace detail {

inline void put_sized(byte_buffer& out, std::uint8_t type, byte_view payload) {
  if (payload.size() >= (std::uint64_t{1} << 32))
    throw wire_error(wire_errc::too_large, "packify lengths stop below 2^32");
  const std::uint8_t cat = category_for(payload.size());
  out.push_back(static_cast<std::uint8_t>(cat | type));
  put_be(out, payload.size(), width_of(cat));
  out.insert(out.end(), payload.begin(), payload.end());
}

inline void put_int(byte_buffer& out, const big_int& i) {
  byte_view mag = i.magnitude;
  while (!mag.empty() && mag.front() == 0)
    mag = mag.subspan(1);
  const bool neg = i.negative && !mag.empty();
  const std::uint8_t type = neg ? type_neg_int : type_int;
  if (mag.size() <= 4) {
    std::uint64_t n = 0;
    for (auto b : mag)
      n = (n << 8) | b;
    const std::uint8_t cat = category_for(n);
    out.push_back(static_cast<std::uint8_t>(cat | type));
    put_be(out, n, width_of(cat));
    return;
  }
  if (mag.size() > 255) throw wire_error(wire_errc::too_large, "packify ints stop at 255 bytes");
  out.push_back(type);  // cat0: a size byte, then the magnitude
  out.push_back(static_cast<std::uint8_t>(mag.size()));
  out.insert(out.end(), mag.begin(), mag.end());
}

/// Writes a container of already-packed items: code, item category, count, lengths, items.
inline void put_container(byte_buffer& out, std::uint8_t type,
                          const std::vector<byte_buffer>& items) {
  std::size_t longest = 0;
  for (const auto& it : items)
    longest = std::max(longest, it.size());
  if (items.size() >= (std::uint64_t{1} << 32) || longest >= (std::uint64_t{1} << 32))
    throw wire_error(wire_errc::too_large, "packify lengths stop below 2^32");
  const std::uint8_t cat = category_for(items.size());
  const std::uint8_t item_cat = category_for(longest);
  out.push_back(static_cast<std::uint8_t>(cat | type));
  out.push_back(item_cat);
  put_be(out, items.size(), width_of(cat));
  for (const auto& it : items)
    put_be(out, it.size(), width_of(item_cat));
  for (const auto& it : items)
    out.insert(out.end(), it.begin(), it.end());
}

inline bool bytes_less(const byte_buffer& a, const byte_buffer& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

inline void put_dict(byte_buffer& out, const value::dict_type& pairs) {
  // Python's dict holds each key once (the last assignment wins); packify then
  // sorts the packed (key, value) tuples.
  struct entry {
    byte_buffer key, item;
    std::size_t index;
  };
  std::vector<entry> entries;
  entries.reserve(pairs.size());
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    entry e;
    pack_into(pairs[i].first, e.key);
    byte_buffer val;
    pack_into(pairs[i].second, val);
    put_container(e.item, type_tuple, {e.key, val});
    e.index = i;
    entries.push_back(std::move(e));
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const entry& a, const entry& b) { return bytes_less(a.key, b.key); });
  std::vector<byte_buffer> items;
  items.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i + 1 < entries.size() && entries[i + 1].key == entries[i].key) continue;  // keep last
    items.push_back(std::move(entries[i].item));
  }
  std::sort(items.begin(), items.end(), bytes_less);
  put_container(out, type_dict, items);
}

}  // namespace detail

/// Appends the packify encoding of `v` to `out`. Throws wire_error(too_large)
/// for what packify cannot encode (ints past 255 bytes, lengths of 2^32 or more).
inline void pack_into(const value& v, byte_buffer& out) {
  using namespace detail;
  switch (v.type()) {
    case kind::none:
      out.push_back(type_none);
      return;
    case kind::boolean:
      out.push_back(type_bool);
      out.push_back(v.as_bool() ? 1 : 0);
      return;
    case kind::floating:
      out.push_back(type_float);
      put_be(out, std::bit_cast<std::uint64_t>(v.as_double()), 8);
      return;
    case kind::integer:
      put_int(out, v.as_big_int());
      return;
    case kind::string:
      put_sized(out, type_str, as_bytes(v.as_string()));
      return;
    case kind::bytes:
      put_sized(out, type_bytes, v.as_bytes());
      return;
    case kind::bytearray:
      put_sized(out, type_bytearray, v.as_bytes());
      return;
    case kind::list:
    case kind::tuple:
    case kind::set: {
      std::vector<byte_buffer> items(v.items().size());
      for (std::size_t i = 0; i < items.size(); ++i)
        pack_into(v.items()[i], items[i]);
      std::uint8_t type = v.type() == kind::list ? type_list : type_tuple;
      if (v.type() == kind::set) {
        type = type_set;
        std::sort(items.begin(), items.end(), bytes_less);
        items.erase(std::unique(items.begin(), items.end()), items.end());
      }
      put_container(out, type, items);
      return;
    }
    case kind::dict:
      put_dict(out, v.pairs());
      return;
  }
}

/// The packify encoding of `v`.
inline byte_buffer pack(const value& v) {
  byte_buffer out;
  pack_into(v, out);
  return out;
}

}  // namespace netaio::inline v0::packify
