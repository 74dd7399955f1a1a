// The default auth fields: a dict of str to bytes, packify-encoded.
#pragma once

#include <netaio/wire/bytes.hpp>
#include <netaio/wire/detail/auth_walk.hpp>
#include <netaio/wire/packify/encode.hpp>
#include <netaio/wire/packify/value.hpp>
#include <netaio/wire/wire_error.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace netaio::inline v0 {

/// Authentication data carried before a message's body (the reference's AuthFields).
class auth_fields {
 public:
  using map_type = std::map<std::string, byte_buffer, std::less<>>;

  auth_fields() = default;
  explicit auth_fields(map_type fields) : fields_(std::move(fields)) {}
  auth_fields(std::initializer_list<map_type::value_type> init) : fields_(init) {}

  const map_type& fields() const noexcept { return fields_; }
  map_type& fields() noexcept { return fields_; }

  /// The field `key`, or nullptr.
  const byte_buffer* find(std::string_view key) const {
    auto it = fields_.find(key);
    return it == fields_.end() ? nullptr : &it->second;
  }
  /// Sets field `key` to `value`.
  void set(std::string_view key, byte_view value) {
    fields_.insert_or_assign(std::string(key), to_buffer(value));
  }
  bool empty() const noexcept { return fields_.empty(); }

  /// Decodes packify-encoded fields; throws wire_error(bad_auth_fields) unless
  /// `data` is a packify dict of str to bytes (a repeated key: the last wins).
  static auth_fields decode(byte_view data) {
    auth_fields a;
    detail::for_each_auth_field(data, [&](std::string_view k, byte_view v) { a.set(k, v); });
    return a;
  }
  /// Checks what decode() checks, without allocating.
  static void validate(byte_view data) {
    detail::for_each_auth_field(data, [](std::string_view, byte_view) {});
  }
  /// Finds field `key` in encoded fields without decoding them (views into `data`).
  static std::optional<byte_view> find_in(byte_view data, std::string_view key) {
    std::optional<byte_view> found;
    detail::for_each_auth_field(data, [&](std::string_view k, byte_view v) {
      if (k == key) found = v;
    });
    return found;
  }

  /// The fields as a packify value (a dict of str to bytes).
  packify::value to_value() const {
    packify::value::dict_type d;
    d.reserve(fields_.size());
    for (const auto& [k, v] : fields_)
      d.emplace_back(packify::value(k), packify::value::bytes(v));
    return packify::value::dict(std::move(d));
  }
  /// Bytes encode_to() appends; throws wire_error(too_large) as it does.
  std::size_t encoded_size() const {
    namespace pf = packify::detail;
    const item_sizes m = measure();
    return 2 + pf::width_of(pf::category_for(fields_.size())) +
           fields_.size() * pf::width_of(pf::category_for(m.longest)) + m.total;
  }

  /// Appends the packify encoding (as packify.pack of the dict, without
  /// building packify values: this runs for every message sent). Each field
  /// is packed as a (str, bytes) tuple straight into `out`; packify orders a
  /// dict's packed items bytewise, so they are then reordered in place.
  void encode_to(byte_buffer& out) const {
    namespace pf = packify::detail;
    struct item {
      std::size_t at;  // offset in `out`
      std::size_t size;
    };
    // Up to 8 fields (the bundled plugins set at most 3) need no allocation.
    std::array<item, 8> small;
    std::vector<item> large;
    const std::size_t count = fields_.size();
    if (count > small.size()) large.resize(count);
    item* items = count > small.size() ? large.data() : small.data();

    const auto [total, longest] = measure();
    const std::uint8_t cat = pf::category_for(count);
    const std::uint8_t table_cat = pf::category_for(longest);
    const std::size_t start = out.size();
    const std::size_t table_at = start + 2 + pf::width_of(cat);
    const std::size_t items_at = table_at + count * pf::width_of(table_cat);
    out.reserve(items_at + total);
    out.push_back(static_cast<std::uint8_t>(cat | pf::type_dict));
    out.push_back(table_cat);
    pf::put_be(out, count, pf::width_of(cat));
    out.resize(items_at);  // the length table, filled once the order is known

    std::size_t i = 0;
    for (const auto& [k, v] : fields_) {
      const std::size_t at = out.size();
      const std::size_t klen = 1 + pf::width_of(pf::category_for(k.size())) + k.size();
      const std::size_t vlen = 1 + pf::width_of(pf::category_for(v.size())) + v.size();
      const std::uint8_t item_cat = pf::category_for(std::max(klen, vlen));
      out.push_back(static_cast<std::uint8_t>(pf::cat1 | pf::type_tuple));
      out.push_back(item_cat);
      out.push_back(2);
      pf::put_be(out, klen, pf::width_of(item_cat));
      pf::put_be(out, vlen, pf::width_of(item_cat));
      pf::put_sized(out, pf::type_str, as_bytes(k));
      pf::put_sized(out, pf::type_bytes, v);
      items[i++] = {at, out.size() - at};
    }
    const auto bytes_of = [&](const item& it) { return byte_view(out.data() + it.at, it.size); };
    const auto before = [&](const item& a, const item& b) {
      const byte_view x = bytes_of(a);
      const byte_view y = bytes_of(b);
      return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end());
    };
    std::sort(items, items + count, before);
    std::size_t table = table_at;
    for (std::size_t j = 0; j < count; ++j) {
      const std::size_t w = pf::width_of(table_cat);
      for (std::size_t b = w; b-- > 0;)
        out[table++] = static_cast<std::uint8_t>(items[j].size >> (8 * b));
    }
    // Reorder the packed items when map order was not packify's order.
    bool in_order = true;
    for (std::size_t j = 0, at = items_at; j < count; at += items[j].size, ++j)
      in_order = in_order && items[j].at == at;
    if (in_order) return;
    std::array<std::uint8_t, 256> small_copy;
    byte_buffer large_copy;
    std::uint8_t* copy = small_copy.data();
    if (total > small_copy.size()) {
      large_copy.resize(total);
      copy = large_copy.data();
    }
    std::copy(out.begin() + static_cast<std::ptrdiff_t>(items_at), out.end(), copy);
    std::size_t to = items_at;
    for (std::size_t j = 0; j < count; ++j) {
      const std::uint8_t* from = copy + (items[j].at - items_at);
      std::copy(from, from + items[j].size, out.begin() + static_cast<std::ptrdiff_t>(to));
      to += items[j].size;
    }
  }
  /// The packify encoding.
  byte_buffer encode() const {
    byte_buffer out;
    encode_to(out);
    return out;
  }

  friend bool operator==(const auth_fields&, const auth_fields&) = default;

 private:
  // The packed (str, bytes) tuple of one field.
  static std::size_t item_size(std::string_view k, byte_view v) {
    namespace pf = packify::detail;
    if (k.size() >= (std::uint64_t{1} << 32) || v.size() >= (std::uint64_t{1} << 32))
      throw wire_error(wire_errc::too_large, "packify lengths stop below 2^32");
    const std::size_t klen = 1 + pf::width_of(pf::category_for(k.size())) + k.size();
    const std::size_t vlen = 1 + pf::width_of(pf::category_for(v.size())) + v.size();
    return 3 + 2 * pf::width_of(pf::category_for(std::max(klen, vlen))) + klen + vlen;
  }
  struct item_sizes {
    std::size_t total = 0;    // of every packed item
    std::size_t longest = 0;  // of the longest
  };
  // Throws wire_error(too_large) for what packify cannot encode.
  item_sizes measure() const {
    item_sizes m;
    for (const auto& [k, v] : fields_) {
      const std::size_t n = item_size(k, v);
      m.total += n;
      m.longest = std::max(m.longest, n);
    }
    if (fields_.size() >= (std::uint64_t{1} << 32) || m.longest >= (std::uint64_t{1} << 32))
      throw wire_error(wire_errc::too_large, "auth fields too large for packify");
    return m;
  }

  map_type fields_;
};

}  // namespace netaio::inline v0
