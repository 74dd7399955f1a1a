// Beyond the reference: an authenticated cipher plugin (XChaCha20-Poly1305).
#pragma once

#include <netaio/plugins/context.hpp>
#include <netaio/plugins/crypto.hpp>
#include <netaio/plugins/detail/message_access.hpp>
#include <netaio/plugins/detail/sodium.hpp>
#include <netaio/plugins/error.hpp>
#include <netaio/wire/bytes.hpp>
#include <netaio/wire/concepts.hpp>
#include <netaio/wire/packify.hpp>

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace netaio::inline v0 {

/// Options of aead_cipher_plugin.
struct aead_cipher_options {
  /// Auth field carrying the 24-byte nonce.
  std::string nonce_field = "aead_nonce";
  /// Auth field listing (as a packify list of str) the auth fields bound into
  /// the tag: every field present when the message was encrypted.
  std::string bound_fields_field = "aead_bound";
  /// Encrypt the uri (the wire uri is then empty) or leave it in the clear
  /// (it is authenticated either way).
  bool encrypt_uri = true;
  /// Fills nonces; when empty, a per-thread ChaCha20 stream keyed from
  /// libsodium's randombytes_buf (plugins/detail/random.hpp).
  std::function<void(std::span<std::uint8_t>)> random = {};
};

/// Encrypts the body with XChaCha20-Poly1305 and authenticates, with it, the
/// message type, the uri and every auth field present at encryption time
/// (an inner layer's fields included). Any change to those is rejected by
/// decrypt() with decryption_error. Not wire-compatible with the reference,
/// which has no such plugin: both ends must use it.
class aead_cipher_plugin {
 public:
  /// Nonce length (random nonces are safe at this size).
  static constexpr std::size_t nonce_size = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  /// Tag length added to each body.
  static constexpr std::size_t tag_size = crypto_aead_xchacha20poly1305_ietf_ABYTES;

  /// The cipher key is derive_key(key, "xchacha20poly1305"), so one secret
  /// can be shared with the reference's plugins without key reuse.
  explicit aead_cipher_plugin(byte_view key, aead_cipher_options opts = {})
      : key_(crypto::derive_key({key, as_bytes("xchacha20poly1305")})), opts_(std::move(opts)) {}
  /// `key` as text (UTF-8).
  explicit aead_cipher_plugin(std::string_view key, aead_cipher_options opts = {})
      : aead_cipher_plugin(as_bytes(key), std::move(opts)) {}

  /// A copy of `m` with its body sealed; adds the nonce and bound-fields fields.
  template <message_protocol M>
  M encrypt(const M& m, const plugin_context& ctx = {}) const {
    (void)ctx;
    auto fields = m.auth_data();
    erase_field(fields, opts_.nonce_field);
    erase_field(fields, opts_.bound_fields_field);
    packify::value::list_type names;
    for (const auto& [name, value] : fields.fields()) {
      (void)value;
      names.emplace_back(std::string(name));
    }
    const byte_buffer bound = packify::pack(packify::value::list(std::move(names)));
    detail::set_field(fields, opts_.bound_fields_field, bound);

    const auto& b = m.body();
    const byte_view uri = b.uri();
    const byte_view content = b.content();
    byte_buffer plain;
    plain.reserve(2 + uri.size() + content.size());
    if (opts_.encrypt_uri) {
      const auto len = detail::be16(uri.size());
      plain.insert(plain.end(), len.begin(), len.end());
      plain.insert(plain.end(), uri.begin(), uri.end());
    }
    plain.insert(plain.end(), content.begin(), content.end());

    std::array<std::uint8_t, nonce_size> nonce{};
    detail::fill_random(nonce, opts_.random);
    detail::set_field(fields, opts_.nonce_field, nonce);
    const byte_view wire_uri = opts_.encrypt_uri ? byte_view{} : uri;
    const byte_buffer ad = associated_data(m, wire_uri, fields, bound);

    byte_buffer sealed(plain.size() + tag_size);
    unsigned long long sealed_len = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(sealed.data(), &sealed_len, plain.data(),
                                               plain.size(), ad.data(), ad.size(), nullptr,
                                               nonce.data(), key_.data());
    sodium_memzero(plain.data(), plain.size());
    using body_t = typename M::body_t;
    return detail::remake(m, body_t::prepare(sealed, wire_uri), std::move(fields));
  }

  /// A copy of `m` with its body opened. Throws decryption_error if anything
  /// bound into the tag changed, or a field it needs is missing or malformed.
  template <message_protocol M>
  M decrypt(const M& m, const plugin_context& ctx = {}) const {
    (void)ctx;
    const auto& fields = m.auth_data();
    const byte_buffer* nonce = detail::find_field(fields, opts_.nonce_field);
    const byte_buffer* bound = detail::find_field(fields, opts_.bound_fields_field);
    if (!nonce || nonce->size() != nonce_size || !bound) {
      throw decryption_error("netaio: AEAD cipher: nonce or bound-fields field missing");
    }
    const byte_view uri = m.body().uri();
    const byte_view sealed = m.body().content();
    if (opts_.encrypt_uri && !uri.empty()) {
      throw decryption_error("netaio: AEAD cipher: clear uri on a uri-encrypting message");
    }
    if (sealed.size() < tag_size) throw decryption_error("netaio: AEAD cipher: body too short");
    const byte_buffer ad = associated_data(m, uri, fields, *bound);
    byte_buffer plain(sealed.size() - tag_size + 1);  // +1: data() never null
    unsigned long long plain_len = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain.data(), &plain_len, nullptr, sealed.data(),
                                                   sealed.size(), ad.data(), ad.size(),
                                                   nonce->data(), key_.data()) != 0) {
      throw decryption_error("netaio: AEAD cipher: message not authentic");
    }
    plain.resize(static_cast<std::size_t>(plain_len));
    using body_t = typename M::body_t;
    if (opts_.encrypt_uri) {
      const auto [plain_uri, plain_content] = detail::split_uri_plaintext(plain, "AEAD cipher");
      return detail::remake(m, body_t::prepare(plain_content, plain_uri), m.auth_data());
    }
    return detail::remake(m, body_t::prepare(plain, uri), m.auth_data());
  }

  /// Not peer-specific: one key for every peer.
  static constexpr bool is_peer_specific() noexcept { return false; }

  const aead_cipher_options& options() const noexcept { return opts_; }

 private:
  template <class A>
  static void erase_field(A& fields, const std::string& name) {
    auto& f = fields.fields();
    if (auto it = f.find(name); it != f.end()) f.erase(it);
  }

  // "netaio-aead-1" | type | u16 uri length | uri | u32 length | bound |
  // packify dict of the bound fields (name -> value), the names read from
  // `bound`. Every part has a fixed size or a length prefix, so different
  // messages never share associated data.
  template <class M, class A>
  byte_buffer associated_data(const M& m, byte_view uri, const A& fields, byte_view bound) const {
    packify::value names;
    try {
      names = packify::unpack(bound);
    } catch (const wire_error&) {
      throw decryption_error("netaio: AEAD cipher: bound-fields field is not packify");
    }
    if (!names.is(packify::kind::list)) {
      throw decryption_error("netaio: AEAD cipher: bound-fields field is not a list");
    }
    packify::value::dict_type bound_pairs;
    for (const auto& n : names.items()) {
      if (!n.is(packify::kind::string)) {
        throw decryption_error("netaio: AEAD cipher: bound field name is not a str");
      }
      const std::string& name = n.as_string();
      if (name == opts_.nonce_field || name == opts_.bound_fields_field) {
        throw decryption_error("netaio: AEAD cipher: bound field list names its own fields");
      }
      const byte_buffer* v = detail::find_field(fields, name);
      if (!v) throw decryption_error("netaio: AEAD cipher: bound field '" + name + "' missing");
      bound_pairs.emplace_back(packify::value(name), packify::value::bytes(*v));
    }
    static constexpr std::string_view domain = "netaio-aead-1";
    byte_buffer ad(domain.begin(), domain.end());
    ad.push_back(static_cast<std::uint8_t>(m.header().message_type()));
    const auto len = detail::be16(uri.size());
    ad.insert(ad.end(), len.begin(), len.end());
    ad.insert(ad.end(), uri.begin(), uri.end());
    const auto blen = static_cast<std::uint32_t>(bound.size());
    for (int shift = 24; shift >= 0; shift -= 8) {
      ad.push_back(static_cast<std::uint8_t>(blen >> shift));
    }
    ad.insert(ad.end(), bound.begin(), bound.end());
    packify::pack_into(packify::value::dict(std::move(bound_pairs)), ad);
    return ad;
  }

  crypto::key32 key_;
  aead_cipher_options opts_;
};

}  // namespace netaio::inline v0
