// The default auth fields: a dict of str to bytes, packify-encoded.
#pragma once

#include <netaio/wire/bytes.hpp>
#include <netaio/wire/detail/auth_walk.hpp>
#include <netaio/wire/packify/encode.hpp>
#include <netaio/wire/packify/value.hpp>
#include <netaio/wire/wire_error.hpp>

#include <algorithm>
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
  /// Appends the packify encoding (as packify.pack of the dict, without
  /// building packify values: this runs for every message sent).
  void encode_to(byte_buffer& out) const {
    namespace pf = packify::detail;
    // Each field as a packed (str, bytes) tuple, back to back in one scratch buffer.
    byte_buffer items;
    std::vector<std::pair<std::size_t, std::size_t>> spans;  // offset, length
    spans.reserve(fields_.size());
    std::size_t longest = 0;
    for (const auto& [k, v] : fields_) {
      const std::size_t at = items.size();
      const std::size_t klen = 1 + pf::width_of(pf::category_for(k.size())) + k.size();
      const std::size_t vlen = 1 + pf::width_of(pf::category_for(v.size())) + v.size();
      const std::uint8_t item_cat = pf::category_for(std::max(klen, vlen));
      items.push_back(static_cast<std::uint8_t>(pf::cat1 | pf::type_tuple));
      items.push_back(item_cat);
      items.push_back(2);
      pf::put_be(items, klen, pf::width_of(item_cat));
      pf::put_be(items, vlen, pf::width_of(item_cat));
      pf::put_sized(items, pf::type_str, as_bytes(k));
      pf::put_sized(items, pf::type_bytes, v);
      spans.emplace_back(at, items.size() - at);
      longest = std::max(longest, items.size() - at);
    }
    // packify sorts a dict's packed items bytewise.
    std::sort(spans.begin(), spans.end(), [&](const auto& a, const auto& b) {
      return std::lexicographical_compare(
          items.begin() + static_cast<std::ptrdiff_t>(a.first),
          items.begin() + static_cast<std::ptrdiff_t>(a.first + a.second),
          items.begin() + static_cast<std::ptrdiff_t>(b.first),
          items.begin() + static_cast<std::ptrdiff_t>(b.first + b.second));
    });
    if (spans.size() >= (std::uint64_t{1} << 32) || longest >= (std::uint64_t{1} << 32))
      throw wire_error(wire_errc::too_large, "auth fields too large for packify");
    const std::uint8_t cat = pf::category_for(spans.size());
    const std::uint8_t item_cat = pf::category_for(longest);
    out.push_back(static_cast<std::uint8_t>(cat | pf::type_dict));
    out.push_back(item_cat);
    pf::put_be(out, spans.size(), pf::width_of(cat));
    for (const auto& sp : spans)
      pf::put_be(out, sp.second, pf::width_of(item_cat));
    for (const auto& sp : spans)
      out.insert(out.end(), items.begin() + static_cast<std::ptrdiff_t>(sp.first),
                 items.begin() + static_cast<std::ptrdiff_t>(sp.first + sp.second));
  }
  /// The packify encoding.
  byte_buffer encode() const {
    byte_buffer out;
    encode_to(out);
    return out;
  }

  friend bool operator==(const auth_fields&, const auth_fields&) = default;

 private:
  map_type fields_;
};

}  // namespace netaio::inline v0
