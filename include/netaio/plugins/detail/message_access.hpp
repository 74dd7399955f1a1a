// How the bundled plugins reach into any protocol's auth fields, bodies and
// messages (the wire concepts fix less than the plugins need, so the few
// extra operations are looked up here, with the default types' fast paths).
#pragma once

#include <netaio/plugins/detail/random.hpp>
#include <netaio/plugins/detail/sodium.hpp>
#include <netaio/plugins/error.hpp>
#include <netaio/wire/body.hpp>
#include <netaio/wire/bytes.hpp>
#include <netaio/wire/concepts.hpp>
#include <netaio/wire/detail/endian.hpp>

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace netaio::inline v0::detail {

/// Field `key` of `a`, or nullptr.
template <class A>
const byte_buffer* find_field(const A& a, std::string_view key) {
  if constexpr (requires {
                  { a.find(key) } -> std::convertible_to<const byte_buffer*>;
                }) {
    return a.find(key);
  } else {
    const auto& f = a.fields();
    auto it = f.find(std::string(key));
    return it == f.end() ? nullptr : &it->second;
  }
}

/// Sets field `key` of `a` to `v`.
template <class A>
void set_field(A& a, std::string_view key, byte_view v) {
  if constexpr (requires { a.set(key, v); }) {
    a.set(key, v);
  } else {
    a.fields().insert_or_assign(std::string(key), to_buffer(v));
  }
}

/// The encoded body, as the reference's body.encode().
template <class B>
byte_buffer encode_body(const B& b) {
  return b.encode();
}

/// Big-endian u16 of a uri length (the reference's uri_length.to_bytes(2, 'big')).
inline std::array<std::uint8_t, 2> be16(std::size_t n) {
  return {static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
}

/// A message like `m` with body `b` and auth fields `a`, as the reference's
/// message.prepare(body, message_type, auth_data).
template <class Message>
Message remake(const Message& m, typename Message::body_t b, typename Message::auth_fields_t a) {
  return Message::prepare(std::move(b), m.header().message_type(), std::move(a));
}

/// The reference's randint(1, n - 1) for where a ciphertext of n >= 2 bytes
/// is split into uri and content; `split` overrides it (tests, vectors), and
/// its answer must be in [1, n - 1].
inline std::size_t split_point(std::size_t n,
                               const std::function<std::size_t(std::size_t)>& split) {
  if (n < 2)
    throw plugin_error("netaio: ciphertext of " + std::to_string(n) + " bytes cannot be split");
  if (split) {
    const std::size_t k = split(n);
    if (k < 1 || k > n - 1) {
      throw plugin_error("netaio: uri split " + std::to_string(k) + " is outside [1, " +
                         std::to_string(n - 1) + "]");
    }
    return k;
  }
  // A uri longer than 65535 bytes cannot be encoded; the reference would fail
  // at encode time, we keep the split where it can be sent.
  const std::size_t hi = std::min<std::size_t>(n - 1, 0xffff);
  return 1 + random_stream::local().uniform(static_cast<std::uint32_t>(hi));
}

/// Fills `out` from `random`, or from this thread's random stream (keyed
/// from libsodium: no system call per message).
inline void fill_random(std::span<std::uint8_t> out,
                        const std::function<void(std::span<std::uint8_t>)>& random) {
  if (random) {
    random(out);
  } else {
    random_bytes(out);
  }
}

/// Splits a decrypted "u16 uri_length | uri | content" plaintext; throws
/// decryption_error when the length does not fit.
inline std::pair<byte_view, byte_view> split_uri_plaintext(byte_view pt, const char* who) {
  if (pt.size() < 2) {
    throw decryption_error(std::string("netaio: ") + who + ": decrypted body too short");
  }
  const std::size_t n = (std::size_t{pt[0]} << 8) | pt[1];
  if (n > pt.size() - 2) {
    throw decryption_error(std::string("netaio: ") + who + ": decrypted uri length " +
                           std::to_string(n) + " exceeds the body");
  }
  return {pt.subspan(2, n), pt.subspan(2 + n)};
}

}  // namespace netaio::inline v0::detail
