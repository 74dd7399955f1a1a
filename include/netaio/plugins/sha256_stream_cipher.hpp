// The reference's Sha256StreamCipherPlugin.
#pragma once

#include <netaio/plugins/context.hpp>
#include <netaio/plugins/crypto.hpp>
#include <netaio/plugins/detail/message_access.hpp>
#include <netaio/plugins/error.hpp>
#include <netaio/wire/bytes.hpp>
#include <netaio/wire/concepts.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace netaio::inline v0 {

/// Options of sha256_stream_cipher_plugin; the defaults are the reference's.
struct sha256_stream_cipher_options {
  /// Auth field that carries the IV.
  std::string iv_field = "iv";
  /// Encrypt the uri (and its length) along with the content.
  bool encrypt_uri = true;
  /// Fills IVs; when empty, a per-thread ChaCha20 stream keyed from
  /// libsodium's randombytes_buf (plugins/detail/random.hpp).
  std::function<void(std::span<std::uint8_t>)> random = {};
  /// Where to split a ciphertext of n bytes into uri and content, in
  /// [1, n - 1]; uniformly random when empty (the reference's randint).
  std::function<std::size_t(std::size_t)> split = {};
};

/// XORs the body with the reference's SHA-256 keystream under a fresh IV.
/// It hides the body but does not authenticate it: without an auth plugin
/// (HMAC) an attacker can flip plaintext bits at will. See docs/plugins.md.
class sha256_stream_cipher_plugin {
 public:
  /// `key` as bytes; the cipher key is SHA-256(key), as in the reference.
  explicit sha256_stream_cipher_plugin(byte_view key, sha256_stream_cipher_options opts = {})
      : key_(crypto::sha256_key(key).view(), crypto::enc_label), opts_(std::move(opts)) {}
  /// `key` as text (UTF-8).
  explicit sha256_stream_cipher_plugin(std::string_view key, sha256_stream_cipher_options opts = {})
      : sha256_stream_cipher_plugin(as_bytes(key), std::move(opts)) {}

  /// A copy of `m` with its body encrypted and the IV in the iv field
  /// (replacing any). With encrypt_uri, "u16 uri_length | uri | content" is
  /// encrypted and the ciphertext split at a random point into uri and content.
  template <message_protocol M>
  M encrypt(const M& m, const plugin_context& ctx = {}) const {
    (void)ctx;
    const auto& b = m.body();
    const byte_view uri = b.uri();
    const byte_view content = b.content();
    byte_buffer data;
    data.reserve(2 + uri.size() + content.size());
    if (opts_.encrypt_uri) {
      const auto len = detail::be16(uri.size());
      data.insert(data.end(), len.begin(), len.end());
      data.insert(data.end(), uri.begin(), uri.end());
    }
    data.insert(data.end(), content.begin(), content.end());
    std::array<std::uint8_t, crypto::iv_size> iv{};
    detail::fill_random(iv, opts_.random);
    crypto::symcrypt_derived(key_.derive(iv), data);
    auto fields = m.auth_data();
    detail::set_field(fields, opts_.iv_field, iv);
    using body_t = typename M::body_t;
    if (opts_.encrypt_uri) {
      const std::size_t k = detail::split_point(data.size(), opts_.split);
      const byte_view all(data);
      return detail::remake(m, body_t::prepare(all.subspan(k), all.first(k)), std::move(fields));
    }
    return detail::remake(m, body_t::prepare(data, uri), std::move(fields));
  }

  /// A copy of `m` with its body decrypted using the iv field. Throws
  /// plugin_error if the field is missing, decryption_error if the decrypted
  /// uri length does not fit.
  template <message_protocol M>
  M decrypt(const M& m, const plugin_context& ctx = {}) const {
    (void)ctx;
    const byte_buffer* iv = detail::find_field(m.auth_data(), opts_.iv_field);
    if (!iv) {
      throw plugin_error("netaio: stream cipher: auth field '" + opts_.iv_field + "' missing");
    }
    const auto& b = m.body();
    const byte_view uri = b.uri();
    const byte_view content = b.content();
    byte_buffer data;
    data.reserve(uri.size() + content.size());
    if (opts_.encrypt_uri) data.insert(data.end(), uri.begin(), uri.end());
    data.insert(data.end(), content.begin(), content.end());
    crypto::symcrypt_derived(key_.derive(*iv), data);
    using body_t = typename M::body_t;
    if (opts_.encrypt_uri) {
      const auto [plain_uri, plain_content] = detail::split_uri_plaintext(data, "stream cipher");
      return detail::remake(m, body_t::prepare(plain_content, plain_uri), m.auth_data());
    }
    return detail::remake(m, body_t::prepare(data, uri), m.auth_data());
  }

  /// Not peer-specific: one key for every peer.
  static constexpr bool is_peer_specific() noexcept { return false; }

  const sha256_stream_cipher_options& options() const noexcept { return opts_; }

 private:
  // The keystream key of SHA-256(key) and "enc", less the IV.
  crypto::key_deriver key_;
  sha256_stream_cipher_options opts_;
};

}  // namespace netaio::inline v0
