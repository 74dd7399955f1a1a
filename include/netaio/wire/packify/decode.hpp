// packify decoding, bounds-checked everywhere: what the reference's unpack()
// accepts decodes to the same value; anything else is a wire_error.
#pragma once

#include <netaio/wire/bytes.hpp>
#include <netaio/wire/detail/endian.hpp>
#include <netaio/wire/packify/detail/format.hpp>
#include <netaio/wire/packify/detail/utf8.hpp>
#include <netaio/wire/packify/encode.hpp>
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

/// Limits for decoding untrusted data.
struct decode_options {
  /// Containers nested deeper than this are rejected (wire_errc::too_deep).
  std::size_t max_depth = 64;
};

/// What decoding learnt of a value without building it.
struct value_info {
  kind type = kind::none;
  /// Python could use it as a dict key or set element.
  bool hashable = true;
  /// Items of a container (0 otherwise).
  std::uint64_t count = 0;
  /// Of a tuple/list: its first item is hashable (dict items need a hashable key).
  bool first_hashable = false;
};

namespace detail {

[[noreturn]] inline void fail(wire_errc c, const char* what) {
  throw wire_error(c, what);
}

inline void need(byte_view d, std::size_t n, const char* what) {
  if (d.size() < n) fail(wire_errc::truncated, what);
}

/// Sorts out duplicates as Python's set()/dict() would, keeping order:
/// the first of equal set elements, the last of equal dict keys.
template <class Items, class KeyOf>
void drop_duplicates(Items& items, KeyOf key_of, bool keep_last) {
  if (items.size() < 2) return;
  std::vector<byte_buffer> keys(items.size());
  for (std::size_t i = 0; i < items.size(); ++i)
    pack_into(key_of(items[i]), keys[i]);
  std::vector<std::size_t> order(items.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return bytes_less(keys[a], keys[b]); });
  std::vector<bool> drop(items.size(), false);
  bool any = false;
  for (std::size_t i = 0; i + 1 < order.size(); ++i) {
    if (keys[order[i]] != keys[order[i + 1]]) continue;
    // order[] is stable, so within a run indices ascend.
    drop[keep_last ? order[i] : order[i + 1]] = true;
    any = true;
    if (!keep_last) std::swap(order[i], order[i + 1]);  // carry the survivor forward
  }
  if (!any) return;
  Items kept;
  kept.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i)
    if (!drop[i]) kept.push_back(std::move(items[i]));
  items = std::move(kept);
}

/// Parses one value filling `data`; builds it into *out when Build. Bytes past
/// the value are ignored, as the reference ignores them (except after a bool).
template <bool Build>
value_info parse(byte_view d, std::size_t depth_left, value* out) {
  need(d, 1, "empty value");
  const std::uint8_t cat = d[0] & length_mask;
  const std::uint8_t type = d[0] & type_mask;
  const byte_view rest = d.subspan(1);
  value_info info;
  switch (type) {
    case type_none:
      info.type = kind::none;
      if constexpr (Build) *out = value();
      return info;
    case type_bool:
      need(rest, 1, "bool");
      if (rest.size() != 1) fail(wire_errc::trailing_bytes, "a bool is exactly one byte");
      info.type = kind::boolean;
      if constexpr (Build) *out = value(rest[0] != 0);
      return info;
    case type_float:
      need(rest, 8, "float");
      info.type = kind::floating;
      if constexpr (Build)
        *out = value(std::bit_cast<double>(netaio::detail::load_be64(rest.data())));
      return info;
    case type_int:
    case type_neg_int: {
      info.type = kind::integer;
      const bool neg = type == type_neg_int;
      if (cat == cat0) {
        need(rest, 1, "int size");
        const std::size_t size = rest[0];
        need(rest, 1 + size, "int");
        if constexpr (Build) *out = value(big_int::from_magnitude(neg, rest.subspan(1, size)));
      } else {
        const std::size_t w = width_of(cat);
        need(rest, w, "int");
        if constexpr (Build) {
          big_int i = big_int::from_uint(netaio::detail::load_be(rest.data(), w));
          i.negative = neg && !i.is_zero();
          *out = value(std::move(i));
        }
      }
      return info;
    }
    case type_bytes:
    case type_bytearray:
    case type_str:
    case type_decimal: {
      if (cat == cat0) fail(wire_errc::bad_length_category, "bytes/str need a length field");
      const std::size_t w = width_of(cat);
      need(rest, w, "length");
      const std::uint64_t len = netaio::detail::load_be(rest.data(), w);
      need(rest, w + len, "bytes/str");
      const byte_view payload = rest.subspan(w, static_cast<std::size_t>(len));
      if (type == type_decimal) fail(wire_errc::unsupported_type, "Decimal is not supported");
      if (type == type_str) {
        if (!valid_utf8(payload)) fail(wire_errc::invalid_utf8, "str is not valid UTF-8");
        info.type = kind::string;
        if constexpr (Build)
          *out = value(std::string(reinterpret_cast<const char*>(payload.data()), payload.size()));
      } else if (type == type_bytes) {
        info.type = kind::bytes;
        if constexpr (Build) *out = value::bytes(payload);
      } else {
        info.type = kind::bytearray;
        info.hashable = false;
        if constexpr (Build) *out = value::bytearray(payload);
      }
      return info;
    }
    case type_list:
    case type_set:
    case type_tuple:
    case type_dict: {
      if (cat == cat0) fail(wire_errc::bad_length_category, "containers need a count field");
      if (depth_left == 0) fail(wire_errc::too_deep, "containers nested too deep");
      const std::size_t w = width_of(cat);
      need(rest, 1 + w, "container head");
      const std::uint8_t item_cat = rest[0];
      // The reference accepts item category 0 only by skipping the lengths and
      // yielding an empty container; no encoder writes it, so it is refused.
      if ((item_cat & type_mask) != 0 || item_cat == cat0)
        fail(wire_errc::bad_length_category, "bad item length category");
      const std::size_t iw = width_of(item_cat);
      const std::uint64_t count = netaio::detail::load_be(rest.data() + 1, w);
      const byte_view body = rest.subspan(1 + w);
      if (count > body.size() / iw) fail(wire_errc::truncated, "item lengths");
      const auto n = static_cast<std::size_t>(count);
      const byte_view area = body.subspan(n * iw);
      info.count = count;
      info.type = type == type_list    ? kind::list
                  : type == type_set   ? kind::set
                  : type == type_tuple ? kind::tuple
                                       : kind::dict;
      info.hashable = type == type_tuple;
      value::list_type items;
      value::dict_type pairs;
      if constexpr (Build) {
        if (type == type_dict)
          pairs.reserve(n);
        else
          items.reserve(n);
      }
      std::size_t off = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t len = netaio::detail::load_be(body.data() + i * iw, iw);
        if (len > area.size() - off) fail(wire_errc::truncated, "container item");
        const byte_view item = area.subspan(off, static_cast<std::size_t>(len));
        off += static_cast<std::size_t>(len);
        value child;
        const value_info ci = parse<Build>(item, depth_left - 1, Build ? &child : nullptr);
        if (i == 0) info.first_hashable = ci.hashable;
        if (!ci.hashable) info.hashable = false;
        if (type == type_set && !ci.hashable)
          fail(wire_errc::unhashable, "set element is not hashable");
        if (type == type_dict) {
          if ((ci.type != kind::tuple && ci.type != kind::list) || ci.count != 2)
            fail(wire_errc::bad_dict_item, "dict item is not a (key, value) pair");
          if (!ci.first_hashable) fail(wire_errc::unhashable, "dict key is not hashable");
          if constexpr (Build) {
            auto& kv = child.items();
            pairs.emplace_back(std::move(kv[0]), std::move(kv[1]));
          }
        } else if constexpr (Build) {
          items.push_back(std::move(child));
        }
      }
      if constexpr (Build) {
        if (type == type_dict) {
          drop_duplicates(
              pairs, [](const auto& p) -> const value& { return p.first; }, true);
          *out = value::dict(std::move(pairs));
        } else if (type == type_set) {
          drop_duplicates(
              items, [](const value& v) -> const value& { return v; }, false);
          *out = value::set(std::move(items));
        } else {
          *out = type == type_list ? value::list(std::move(items)) : value::tuple(std::move(items));
        }
      }
      return info;
    }
    case type_packable:
      fail(wire_errc::unsupported_type, "Packable is not supported");
    default:
      fail(wire_errc::unknown_type, "unknown packify type code");
  }
}

}  // namespace detail

/// Decodes the packify value at the front of `data` (bytes after it are
/// ignored, as by the reference). Throws wire_error on malformed input.
inline value unpack(byte_view data, decode_options opts = {}) {
  value v;
  detail::parse<true>(data, opts.max_depth, &v);
  return v;
}

/// Checks that `data` decodes, without building the value or allocating.
inline value_info validate(byte_view data, decode_options opts = {}) {
  return detail::parse<false>(data, opts.max_depth, nullptr);
}

}  // namespace netaio::inline v0::packify
