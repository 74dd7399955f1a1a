// X25519 keys from an Ed25519 seed and crypto_box sealing, as PyNaCl does them.
#pragma once

#include <netaio/plugins/crypto.hpp>
#include <netaio/plugins/detail/random.hpp>
#include <netaio/plugins/detail/sodium.hpp>
#include <netaio/plugins/error.hpp>
#include <netaio/plugins/secret.hpp>
#include <netaio/wire/bytes.hpp>

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace netaio::inline v0::crypto {

/// Length of an Ed25519 seed.
inline constexpr std::size_t seed_size = crypto_sign_SEEDBYTES;
/// Length of a Curve25519 or Ed25519 public key.
inline constexpr std::size_t public_key_size = crypto_box_PUBLICKEYBYTES;
/// Length of the nonce PyNaCl's Box prepends to each ciphertext.
inline constexpr std::size_t box_nonce_size = crypto_box_NONCEBYTES;
/// Authenticator length of a crypto_box ciphertext.
inline constexpr std::size_t box_mac_size = crypto_box_MACBYTES;

/// A 32-byte public key.
using public_key = std::array<std::uint8_t, public_key_size>;
/// A crypto_box nonce.
using box_nonce = std::array<std::uint8_t, box_nonce_size>;

/// The key pair the reference's X25519 plugin derives from a seed: the seed
/// is an Ed25519 signing key, converted to a Curve25519 private key.
class box_keypair {
 public:
  /// Derives the keys; throws plugin_error unless `seed` is 32 bytes.
  static box_keypair from_seed(byte_view seed) {
    netaio::detail::ensure_sodium();
    if (seed.size() != seed_size) {
      throw plugin_error("netaio: X25519 seed must be 32 bytes, got " +
                         std::to_string(seed.size()));
    }
    box_keypair kp;
    secret_array<crypto_sign_SECRETKEYBYTES> ed_sk;
    crypto_sign_seed_keypair(kp.verify_key_.data(), ed_sk.data(), seed.data());
    if (crypto_sign_ed25519_sk_to_curve25519(kp.secret_.data(), ed_sk.data()) != 0 ||
        crypto_scalarmult_base(kp.public_.data(), kp.secret_.data()) != 0) {
      throw plugin_error("netaio: X25519 key derivation failed");
    }
    return kp;
  }

  /// The Curve25519 public key (what peers put in their "pubkey").
  const public_key& public_key_bytes() const noexcept { return public_; }
  /// The Ed25519 verify key ("vkey").
  const public_key& verify_key() const noexcept { return verify_key_; }
  /// The Curve25519 private key.
  const key32& secret_key() const noexcept { return secret_; }

 private:
  box_keypair() = default;
  key32 secret_;
  public_key public_{};
  public_key verify_key_{};
};

/// Encrypts `plaintext` from `sk` to `peer_pk` as PyNaCl's Box.encrypt does:
/// the output is nonce || MAC || ciphertext. The nonce is random unless given.
inline byte_buffer box_seal(const key32& sk, byte_view peer_pk, byte_view plaintext,
                            std::optional<box_nonce> nonce = std::nullopt) {
  netaio::detail::ensure_sodium();
  if (peer_pk.size() != public_key_size) {
    throw plugin_error("netaio: X25519 public key must be 32 bytes, got " +
                       std::to_string(peer_pk.size()));
  }
  byte_buffer out(box_nonce_size + box_mac_size + plaintext.size());
  if (nonce) {
    std::copy(nonce->begin(), nonce->end(), out.begin());
  } else {
    netaio::detail::random_bytes(std::span(out.data(), box_nonce_size));
  }
  if (crypto_box_easy(out.data() + box_nonce_size, plaintext.data(), plaintext.size(), out.data(),
                      peer_pk.data(), sk.data()) != 0) {
    throw plugin_error("netaio: X25519 encryption failed (degenerate public key)");
  }
  return out;
}

/// Opens what box_seal made; throws decryption_error if it is too short or
/// fails authentication.
inline byte_buffer box_open(const key32& sk, byte_view peer_pk, byte_view boxed) {
  netaio::detail::ensure_sodium();
  if (peer_pk.size() != public_key_size) {
    throw plugin_error("netaio: X25519 public key must be 32 bytes, got " +
                       std::to_string(peer_pk.size()));
  }
  if (boxed.size() < box_nonce_size + box_mac_size) {
    throw decryption_error("netaio: X25519 ciphertext too short (" + std::to_string(boxed.size()) +
                           " bytes)");
  }
  const std::size_t ct_len = boxed.size() - box_nonce_size;
  // One spare byte so data() is never null for an empty plaintext.
  byte_buffer out(ct_len - box_mac_size + 1);
  if (crypto_box_open_easy(out.data(), boxed.data() + box_nonce_size, ct_len, boxed.data(),
                           peer_pk.data(), sk.data()) != 0) {
    throw decryption_error("netaio: X25519 decryption failed: ciphertext not authentic");
  }
  out.pop_back();
  return out;
}

/// The crypto_box shared key of (sk, peer_pk), as PyNaCl's Box computes it
/// once per pair; box_seal_shared/box_open_shared then skip the scalar product.
inline key32 box_shared_key(const key32& sk, byte_view peer_pk) {
  netaio::detail::ensure_sodium();
  if (peer_pk.size() != public_key_size) {
    throw plugin_error("netaio: X25519 public key must be 32 bytes, got " +
                       std::to_string(peer_pk.size()));
  }
  key32 k;
  if (crypto_box_beforenm(k.data(), peer_pk.data(), sk.data()) != 0) {
    throw plugin_error("netaio: X25519 key agreement failed (degenerate public key)");
  }
  return k;
}

/// box_seal() with a precomputed shared key: nonce || MAC || ciphertext.
inline byte_buffer box_seal_shared(const key32& shared, byte_view plaintext,
                                   std::optional<box_nonce> nonce = std::nullopt) {
  netaio::detail::ensure_sodium();
  byte_buffer out(box_nonce_size + box_mac_size + plaintext.size());
  if (nonce) {
    std::copy(nonce->begin(), nonce->end(), out.begin());
  } else {
    netaio::detail::random_bytes(std::span(out.data(), box_nonce_size));
  }
  crypto_box_easy_afternm(out.data() + box_nonce_size, plaintext.data(), plaintext.size(),
                          out.data(), shared.data());
  return out;
}

/// box_open() with a precomputed shared key; throws decryption_error.
inline byte_buffer box_open_shared(const key32& shared, byte_view boxed) {
  netaio::detail::ensure_sodium();
  if (boxed.size() < box_nonce_size + box_mac_size) {
    throw decryption_error("netaio: X25519 ciphertext too short (" + std::to_string(boxed.size()) +
                           " bytes)");
  }
  const std::size_t ct_len = boxed.size() - box_nonce_size;
  byte_buffer out(ct_len - box_mac_size + 1);  // +1: data() never null
  if (crypto_box_open_easy_afternm(out.data(), boxed.data() + box_nonce_size, ct_len, boxed.data(),
                                   shared.data()) != 0) {
    throw decryption_error("netaio: X25519 decryption failed: ciphertext not authentic");
  }
  out.pop_back();
  return out;
}

}  // namespace netaio::inline v0::crypto
