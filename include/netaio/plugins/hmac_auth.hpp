// The reference's HMACAuthPlugin, with opt-in replay protection.
#pragma once

#include <netaio/plugins/context.hpp>
#include <netaio/plugins/crypto.hpp>
#include <netaio/plugins/detail/message_access.hpp>
#include <netaio/plugins/detail/random.hpp>
#include <netaio/plugins/detail/sodium.hpp>
#include <netaio/plugins/error.hpp>
#include <netaio/plugins/replay_guard.hpp>
#include <netaio/plugins/secret.hpp>
#include <netaio/wire/bytes.hpp>
#include <netaio/wire/concepts.hpp>
#include <netaio/wire/helpers.hpp>
#include <netaio/wire/message.hpp>
#include <netaio/wire/wire_error.hpp>

#include <sodium.h>

#include <array>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace netaio::inline v0 {

/// Options of hmac_auth_plugin; the defaults are the reference's.
struct hmac_auth_options {
  /// Auth field names.
  std::string hmac_field = "hmac";
  std::string nonce_field = "nonce";
  std::string ts_field = "ts";
  /// Seconds since the Unix epoch; the system clock when empty.
  std::function<std::int64_t()> clock = {};
  /// Fills nonces; when empty, a per-thread ChaCha20 stream keyed from
  /// libsodium's randombytes_buf (plugins/detail/random.hpp).
  std::function<void(std::span<std::uint8_t>)> random = {};
  /// Beyond the reference: when set, check() also rejects a ts outside the
  /// window and a nonce already accepted within it. Off by default, as the
  /// reference has no such check.
  std::optional<replay_options> replay = {};
};

/// Authenticates the body with the reference's HMAC over nonce, ts and the
/// encoded body, keyed by SHA-256(secret).
class hmac_auth_plugin {
 public:
  /// The text of error(), as the reference's.
  static constexpr std::string_view error_text = "HMAC auth failed";

  /// `secret` as bytes (the reference's bytes config).
  explicit hmac_auth_plugin(byte_view secret, hmac_auth_options opts = {})
      : key_(crypto::sha256_key(secret).view()), opts_(std::move(opts)) {
    if (opts_.replay) guard_ = std::make_shared<replay_guard>(*opts_.replay);
  }
  /// `secret` as text (the reference's str config, encoded as UTF-8).
  explicit hmac_auth_plugin(std::string_view secret, hmac_auth_options opts = {})
      : hmac_auth_plugin(as_bytes(secret), std::move(opts)) {}

  /// Sets the nonce, ts and hmac fields for `body`. An existing nonce of
  /// exactly 16 bytes and an existing ts are reused, as by the reference;
  /// otherwise a random nonce and the current time are used. Throws
  /// plugin_error if an existing ts does not fit in 4 bytes.
  template <class AuthFields, class Body>
  void make(AuthFields& fields, const Body& body, const plugin_context& ctx = {}) const {
    (void)ctx;
    std::array<std::uint8_t, crypto::iv_size> nonce{};
    const auto* old_nonce = detail::find_field(fields, opts_.nonce_field);
    if (old_nonce && old_nonce->size() == crypto::iv_size) {
      std::copy(old_nonce->begin(), old_nonce->end(), nonce.begin());
    } else if (opts_.random) {
      opts_.random(nonce);
    } else {
      netaio::detail::random_bytes(nonce);  // no system call per message
    }
    const auto* old_ts = detail::find_field(fields, opts_.ts_field);
    const std::array<std::uint8_t, 4> ts = old_ts ? ts4_from_bytes(*old_ts) : ts4_from_int(now());
    const crypto::digest mac = mac_of(nonce, ts, body);
    detail::set_field(fields, opts_.nonce_field, nonce);
    detail::set_field(fields, opts_.ts_field, ts);
    detail::set_field(fields, opts_.hmac_field, mac);
  }

  /// True if the fields carry a valid hmac of `body` (compared in constant
  /// time), and, with replay protection on, a fresh (ts, nonce).
  template <class AuthFields, class Body>
  bool check(const AuthFields& fields, const Body& body, const plugin_context& ctx = {}) const {
    (void)ctx;
    const auto* ts = detail::find_field(fields, opts_.ts_field);
    const auto* nonce = detail::find_field(fields, opts_.nonce_field);
    const auto* mac = detail::find_field(fields, opts_.hmac_field);
    if (!ts || !nonce || !mac) return false;
    const crypto::digest expected = mac_of(*nonce, *ts, body);
    if (mac->size() != expected.size() ||
        sodium_memcmp(expected.data(), mac->data(), expected.size()) != 0) {
      return false;
    }
    if (!guard_) return true;
    // Only authentic messages reach the guard, so forgeries cannot fill it.
    const auto ts_value = ts_as_int(*ts);
    if (!ts_value) return false;
    return guard_->admit(*ts_value, *nonce, now()) == replay_verdict::fresh;
  }

  /// The reference's error response: AUTH_ERROR, uri "ERROR", "HMAC auth failed".
  template <message_protocol Message = message>
  Message error() const {
    return make_error_msg<Message>(error_text);
  }

  /// Not peer-specific: one secret for every peer.
  static constexpr bool is_peer_specific() noexcept { return false; }

  const hmac_auth_options& options() const noexcept { return opts_; }
  /// The replay guard, when replay protection is on (else nullptr).
  const replay_guard* guard() const noexcept { return guard_.get(); }

 private:
  // The reference's hmac(secret, nonce, ts || body.encode()); the default
  // body is fed in pieces rather than encoded into a new buffer.
  template <class Body>
  crypto::digest mac_of(byte_view nonce, byte_view ts, const Body& body) const {
    if constexpr (std::same_as<Body, netaio::body>) {
      if (body.uri().size() > 0xffff)
        throw wire_error(wire_errc::too_large, "uri longer than 65535");
      const auto len = detail::be16(body.uri().size());
      return key_.mac(nonce,
                      {ts, byte_view(len), byte_view(body.uri()), byte_view(body.content())});
    } else {
      const byte_buffer encoded = detail::encode_body(body);
      return key_.mac(nonce, {ts, byte_view(encoded)});
    }
  }
  std::int64_t now() const {
    if (opts_.clock) return opts_.clock();
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static std::array<std::uint8_t, 4> ts4_from_int(std::int64_t t) {
    if (t < 0 || t > 0xFFFF'FFFFll) {
      throw plugin_error("netaio: HMAC auth ts " + std::to_string(t) + " does not fit in 4 bytes");
    }
    const auto u = static_cast<std::uint32_t>(t);
    return {static_cast<std::uint8_t>(u >> 24), static_cast<std::uint8_t>(u >> 16),
            static_cast<std::uint8_t>(u >> 8), static_cast<std::uint8_t>(u)};
  }
  // The reference reads an existing ts as a big-endian int and re-encodes it
  // in 4 bytes (raising if it is larger).
  static std::array<std::uint8_t, 4> ts4_from_bytes(byte_view b) {
    std::size_t i = 0;
    while (i < b.size() && b[i] == 0)
      ++i;
    if (b.size() - i > 4) throw plugin_error("netaio: HMAC auth ts field does not fit in 4 bytes");
    std::array<std::uint8_t, 4> out{};
    std::copy(b.begin() + static_cast<std::ptrdiff_t>(i), b.end(),
              out.end() - static_cast<std::ptrdiff_t>(b.size() - i));
    return out;
  }
  static std::optional<std::int64_t> ts_as_int(byte_view b) {
    std::size_t i = 0;
    while (i < b.size() && b[i] == 0)
      ++i;
    if (b.size() - i > 7) return std::nullopt;
    std::int64_t v = 0;
    for (; i < b.size(); ++i)
      v = (v << 8) | b[i];
    return v;
  }

  // The reference keys its HMAC with SHA-256(secret).
  crypto::hmac_key key_;
  hmac_auth_options opts_;
  std::shared_ptr<replay_guard> guard_;
};

}  // namespace netaio::inline v0
