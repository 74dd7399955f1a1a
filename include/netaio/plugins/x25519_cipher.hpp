// The reference's X25519CipherPlugin (netaio.asymmetric), on libsodium.
#pragma once

#include <netaio/plugins/box.hpp>
#include <netaio/plugins/context.hpp>
#include <netaio/plugins/detail/message_access.hpp>
#include <netaio/plugins/error.hpp>
#include <netaio/wire/bytes.hpp>
#include <netaio/wire/concepts.hpp>
#include <netaio/wire/packify.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

namespace netaio::inline v0 {

/// Options of x25519_cipher_plugin; the defaults are the reference's.
struct x25519_cipher_options {
  /// Encrypt the uri (and its length) along with the content.
  bool encrypt_uri = false;
  /// Fills box nonces; when empty, a per-thread ChaCha20 stream keyed from
  /// libsodium's randombytes_buf (plugins/detail/random.hpp).
  std::function<void(std::span<std::uint8_t>)> random = {};
  /// Where to split a ciphertext of n bytes into uri and content, in
  /// [1, n - 1]; uniformly random when empty (the reference's randint).
  std::function<std::size_t(std::size_t)> split = {};
};

/// Encrypts bodies to the peer's Curve25519 key with crypto_box, exactly as
/// PyNaCl's Box (24-byte nonce prepended). The peer's key is the "pubkey" of
/// its data, read through the peer plugin in the plugin_context; peers learn
/// ours from public_key() (put it in the local peer's data as "pubkey").
class x25519_cipher_plugin {
 public:
  /// Derives the keys from a 32-byte Ed25519 seed; throws plugin_error otherwise.
  explicit x25519_cipher_plugin(byte_view seed, x25519_cipher_options opts = {})
      : keys_(std::make_shared<const crypto::box_keypair>(crypto::box_keypair::from_seed(seed))),
        opts_(std::move(opts)),
        cache_(std::make_shared<shared_key_cache>()) {}

  /// Our Curve25519 public key (the reference's pubk).
  const crypto::public_key& public_key() const noexcept { return keys_->public_key_bytes(); }
  /// Our Ed25519 verify key (the reference's vkey).
  const crypto::public_key& verify_key() const noexcept { return keys_->verify_key(); }

  /// A copy of `m` with its body boxed to ctx.remote's pubkey. Auth fields
  /// are unchanged. Throws plugin_error without a peer, peer plugin or pubkey.
  template <message_protocol M>
  M encrypt(const M& m, const plugin_context& ctx = {}) const {
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
    crypto::box_nonce nonce{};
    detail::fill_random(nonce, opts_.random);
    const byte_buffer boxed = crypto::box_seal_shared(*shared_key(ctx), data, nonce);
    using body_t = typename M::body_t;
    if (opts_.encrypt_uri) {
      const std::size_t k = detail::split_point(boxed.size(), opts_.split);
      const byte_view all(boxed);
      return detail::remake(m, body_t::prepare(all.subspan(k), all.first(k)), m.auth_data());
    }
    return detail::remake(m, body_t::prepare(boxed, uri), m.auth_data());
  }

  /// A copy of `m` with its body opened with ctx.remote's pubkey. Throws
  /// decryption_error if it is not authentic, plugin_error as encrypt().
  template <message_protocol M>
  M decrypt(const M& m, const plugin_context& ctx = {}) const {
    const auto& b = m.body();
    const byte_view uri = b.uri();
    const byte_view content = b.content();
    byte_buffer boxed;
    boxed.reserve(uri.size() + content.size());
    if (opts_.encrypt_uri) boxed.insert(boxed.end(), uri.begin(), uri.end());
    boxed.insert(boxed.end(), content.begin(), content.end());
    const byte_buffer data = crypto::box_open_shared(*shared_key(ctx), boxed);
    using body_t = typename M::body_t;
    if (opts_.encrypt_uri) {
      const auto [plain_uri, plain_content] = detail::split_uri_plaintext(data, "X25519 cipher");
      return detail::remake(m, body_t::prepare(plain_content, plain_uri), m.auth_data());
    }
    return detail::remake(m, body_t::prepare(data, uri), m.auth_data());
  }

  /// Peer-specific: each peer has its own key.
  static constexpr bool is_peer_specific() noexcept { return true; }

  const x25519_cipher_options& options() const noexcept { return opts_; }

 private:
  // Shared keys by peer pubkey, so that each message costs no scalar product.
  // Bounded: cleared when full (a rebuild costs one scalar product per peer).
  struct shared_key_cache {
    static constexpr std::size_t max_entries = 1024;
    std::mutex mutex;
    std::map<crypto::public_key, std::shared_ptr<const crypto::key32>> keys;
  };

  std::shared_ptr<const crypto::key32> shared_key(const plugin_context& ctx) const {
    const crypto::public_key pk = peer_pubkey(ctx);
    {
      std::lock_guard lock(cache_->mutex);
      if (auto it = cache_->keys.find(pk); it != cache_->keys.end()) return it->second;
    }
    auto k = std::make_shared<const crypto::key32>(crypto::box_shared_key(keys_->secret_key(), pk));
    std::lock_guard lock(cache_->mutex);
    if (cache_->keys.size() >= shared_key_cache::max_entries) cache_->keys.clear();
    cache_->keys.emplace(pk, k);
    return k;
  }

  static crypto::public_key peer_pubkey(const plugin_context& ctx) {
    if (ctx.remote == nullptr || !ctx.peer_plugin) {
      throw plugin_error("netaio: X25519 cipher: peer and peer_plugin must be provided");
    }
    const packify::value data = ctx.peer_plugin.parse_data(*ctx.remote);
    const packify::value* pk = data.is(packify::kind::dict) ? data.find("pubkey") : nullptr;
    if (pk == nullptr || !(pk->is(packify::kind::bytes) || pk->is(packify::kind::bytearray))) {
      throw plugin_error("netaio: X25519 cipher: peer pubkey not found");
    }
    const byte_buffer& raw = pk->as_bytes();
    if (raw.size() != crypto::public_key_size) {
      throw plugin_error("netaio: X25519 cipher: peer pubkey must be 32 bytes, got " +
                         std::to_string(raw.size()));
    }
    crypto::public_key out{};
    std::copy(raw.begin(), raw.end(), out.begin());
    return out;
  }

  std::shared_ptr<const crypto::box_keypair> keys_;
  x25519_cipher_options opts_;
  std::shared_ptr<shared_key_cache> cache_;
};

}  // namespace netaio::inline v0
