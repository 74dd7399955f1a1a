// packify's data model: a value users can build and inspect.
#pragma once

#include <netaio/wire/bytes.hpp>
#include <netaio/wire/packify/big_int.hpp>
#include <netaio/wire/wire_error.hpp>

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace netaio::inline v0::packify {

/// The Python type a packify value stands for.
enum class kind : std::uint8_t {
  none,
  boolean,
  integer,
  floating,
  string,
  bytes,
  bytearray,
  list,
  tuple,
  set,
  dict,
};

/// A short name for `k` (Python's type name).
constexpr std::string_view to_string(kind k) noexcept {
  switch (k) {
    case kind::none:
      return "None";
    case kind::boolean:
      return "bool";
    case kind::integer:
      return "int";
    case kind::floating:
      return "float";
    case kind::string:
      return "str";
    case kind::bytes:
      return "bytes";
    case kind::bytearray:
      return "bytearray";
    case kind::list:
      return "list";
    case kind::tuple:
      return "tuple";
    case kind::set:
      return "set";
    case kind::dict:
      return "dict";
  }
  return "?";
}

/// One packify value: None, bool, int, float, str, bytes, bytearray, list, tuple, set or dict.
/// Sets and dicts keep insertion order here; encoding sorts them as packify does.
/// Equality is structural (unlike Python, 1, 1.0 and True are distinct values).
class value {
 public:
  using list_type = std::vector<value>;
  using dict_type = std::vector<std::pair<value, value>>;

  /// None.
  value() noexcept = default;
  /// None.
  value(std::nullptr_t) noexcept {}
  /// A bool (constrained so pointers do not convert to it).
  template <std::same_as<bool> B>
  value(B b) noexcept : kind_(kind::boolean), data_(b) {}
  /// An int.
  template <std::integral I>
  requires(!std::same_as<I, bool>) value(I i)
      : kind_(kind::integer),
        data_(std::is_signed_v<I> ? big_int::from_int(static_cast<std::int64_t>(i))
                                  : big_int::from_uint(static_cast<std::uint64_t>(i))) {}
  /// An int of any size.
  value(big_int i) : kind_(kind::integer), data_(std::move(i)) {}
  /// A float.
  value(double d) noexcept : kind_(kind::floating), data_(d) {}
  /// A str (UTF-8 text).
  value(std::string s) : kind_(kind::string), data_(std::move(s)) {}
  /// A str (UTF-8 text).
  value(std::string_view s) : kind_(kind::string), data_(std::string(s)) {}
  /// A str (UTF-8 text).
  value(const char* s) : kind_(kind::string), data_(std::string(s)) {}
  /// bytes.
  value(byte_buffer b) : kind_(kind::bytes), data_(std::move(b)) {}

  /// bytes.
  static value bytes(byte_view b) { return value(to_buffer(b)); }
  /// bytearray.
  static value bytearray(byte_view b) {
    value v(to_buffer(b));
    v.kind_ = kind::bytearray;
    return v;
  }
  /// A list.
  static value list(list_type items = {}) { return sequence(kind::list, std::move(items)); }
  /// A tuple.
  static value tuple(list_type items = {}) { return sequence(kind::tuple, std::move(items)); }
  /// A set (duplicates are dropped when encoding, as a Python set holds none).
  static value set(list_type items = {}) { return sequence(kind::set, std::move(items)); }
  /// A dict.
  static value dict(dict_type items = {}) {
    value v;
    v.kind_ = kind::dict;
    v.data_ = std::move(items);
    return v;
  }

  kind type() const noexcept { return kind_; }
  bool is(kind k) const noexcept { return kind_ == k; }
  bool is_none() const noexcept { return kind_ == kind::none; }
  /// True for list, tuple and set.
  bool is_sequence() const noexcept {
    return kind_ == kind::list || kind_ == kind::tuple || kind_ == kind::set;
  }

  bool as_bool() const { return get<bool>(kind_ == kind::boolean, "bool"); }
  const big_int& as_big_int() const { return get<big_int>(kind_ == kind::integer, "int"); }
  /// The int as int64; throws wire_error(too_large) when it does not fit.
  std::int64_t as_int() const {
    auto v = as_big_int().to_int64();
    if (!v) throw wire_error(wire_errc::too_large, "int does not fit in 64 bits");
    return *v;
  }
  double as_double() const { return get<double>(kind_ == kind::floating, "float"); }
  const std::string& as_string() const { return get<std::string>(kind_ == kind::string, "str"); }
  /// The bytes of a bytes or bytearray value.
  const byte_buffer& as_bytes() const {
    return get<byte_buffer>(kind_ == kind::bytes || kind_ == kind::bytearray, "bytes");
  }
  /// The items of a list, tuple or set.
  const list_type& items() const { return get<list_type>(is_sequence(), "list/tuple/set"); }
  list_type& items() { return get<list_type>(is_sequence(), "list/tuple/set"); }
  /// The (key, value) pairs of a dict.
  const dict_type& pairs() const { return get<dict_type>(kind_ == kind::dict, "dict"); }
  dict_type& pairs() { return get<dict_type>(kind_ == kind::dict, "dict"); }

  /// The value stored under `key` in a dict, or nullptr (last one wins, as in Python).
  const value* find(const value& key) const {
    const value* found = nullptr;
    for (const auto& [k, v] : pairs())
      if (k == key) found = &v;
    return found;
  }
  /// The value stored under the str `key` in a dict, or nullptr.
  const value* find(std::string_view key) const {
    const value* found = nullptr;
    for (const auto& [k, v] : pairs())
      if (k.kind_ == kind::string && std::get<std::string>(k.data_) == key) found = &v;
    return found;
  }
  const value* find(const char* key) const { return find(std::string_view(key)); }

  friend bool operator==(const value& a, const value& b) {
    if (a.kind_ != b.kind_) return false;
    // std::variant's == on double would make NaN != NaN; compare bits as packify would.
    if (a.kind_ == kind::floating)
      return bits_equal(std::get<double>(a.data_), std::get<double>(b.data_));
    if (a.is_sequence())
      return seq_equal(std::get<list_type>(a.data_), std::get<list_type>(b.data_));
    if (a.kind_ == kind::dict) {
      const auto& x = std::get<dict_type>(a.data_);
      const auto& y = std::get<dict_type>(b.data_);
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i)
        if (!(x[i].first == y[i].first) || !(x[i].second == y[i].second)) return false;
      return true;
    }
    return a.data_ == b.data_;
  }

 private:
  static value sequence(kind k, list_type items) {
    value v;
    v.kind_ = k;
    v.data_ = std::move(items);
    return v;
  }
  static bool bits_equal(double a, double b) noexcept {
    return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
  }
  static bool seq_equal(const list_type& x, const list_type& y) {
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!(x[i] == y[i])) return false;
    return true;
  }
  template <class T, class Self>
  static auto& get_impl(Self& self, bool ok, const char* want) {
    if (!ok)
      throw wire_error(wire_errc::wrong_kind, std::string("wanted ") + want + ", have " +
                                                  std::string(to_string(self.kind_)));
    return std::get<T>(self.data_);
  }
  template <class T>
  const T& get(bool ok, const char* want) const {
    return get_impl<T>(*this, ok, want);
  }
  template <class T>
  T& get(bool ok, const char* want) {
    return get_impl<T>(*this, ok, want);
  }

  kind kind_ = kind::none;
  std::variant<std::monostate, bool, big_int, double, std::string, byte_buffer, list_type,
               dict_type>
      data_;
};

}  // namespace netaio::inline v0::packify
