// The reference's symmetric constructions (netaio/crypto.py), on libsodium's SHA-256.
#pragma once

#include <netaio/plugins/detail/sodium.hpp>
#include <netaio/plugins/secret.hpp>
#include <netaio/wire/bytes.hpp>

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

namespace netaio::inline v0::detail {

/// Streams pieces into SHA-256 without concatenating them first.
class sha256_state {
 public:
  sha256_state() noexcept { crypto_hash_sha256_init(&st_); }
  ~sha256_state() { sodium_memzero(&st_, sizeof st_); }
  sha256_state(const sha256_state&) = delete;
  sha256_state& operator=(const sha256_state&) = delete;
  void update(byte_view v) noexcept { crypto_hash_sha256_update(&st_, v.data(), v.size()); }
  void final(std::uint8_t* out) noexcept { crypto_hash_sha256_final(&st_, out); }

 private:
  crypto_hash_sha256_state st_;
};

}  // namespace netaio::inline v0::detail

namespace netaio::inline v0::crypto {

/// Length of the reference's IVs and HMAC nonces.
inline constexpr std::size_t iv_size = 16;
/// SHA-256 digest length.
inline constexpr std::size_t digest_size = crypto_hash_sha256_BYTES;
/// The reference's HMAC block length. 136 is SHA3-256's rate, not SHA-256's
/// 64; the reference uses it with SHA-256 and the wire depends on it.
inline constexpr std::size_t hmac_block_size = 136;

/// A SHA-256 digest (also an HMAC tag).
using digest = std::array<std::uint8_t, digest_size>;
/// A 32-byte key that wipes itself.
using key32 = secret_array<digest_size>;

/// SHA-256 of the concatenation of `parts`.
inline digest sha256(std::initializer_list<byte_view> parts) {
  netaio::detail::ensure_sodium();
  netaio::detail::sha256_state st;
  for (auto p : parts)
    st.update(p);
  digest out;
  st.final(out.data());
  return out;
}

/// SHA-256 of `data`.
inline digest sha256(byte_view data) {
  return sha256({data});
}

/// SHA-256 of `secret`, kept as a key (the reference's sha256(secret) keys).
inline key32 sha256_key(byte_view secret) {
  netaio::detail::ensure_sodium();
  key32 out;
  crypto_hash_sha256(out.data(), secret.data(), secret.size());
  return out;
}

/// The reference's one-time key: SHA-256 over the SHA-256 of each part.
inline key32 derive_key(std::span<const byte_view> parts) {
  netaio::detail::ensure_sodium();
  netaio::detail::sha256_state outer;
  key32 part_hash;
  for (auto p : parts) {
    crypto_hash_sha256(part_hash.data(), p.data(), p.size());
    outer.update(part_hash.view());
  }
  key32 out;
  outer.final(out.data());
  return out;
}

/// derive_key() over a braced list of parts.
inline key32 derive_key(std::initializer_list<byte_view> parts) {
  return derive_key(std::span<const byte_view>(parts.begin(), parts.size()));
}

/// derive_key(key, iv, label) for one key and label and any iv, with the
/// hashes of the key and the label made once: a plugin that derives a key
/// per message (from a fresh nonce or IV) saves two of the SHA-256 blocks.
class key_deriver {
 public:
  key_deriver(byte_view key, byte_view label) {
    netaio::detail::ensure_sodium();
    crypto_hash_sha256(key_hash_.data(), key.data(), key.size());
    crypto_hash_sha256(label_hash_.data(), label.data(), label.size());
  }

  /// derive_key({key, iv, label}).
  key32 derive(byte_view iv) const {
    key32 iv_hash;
    crypto_hash_sha256(iv_hash.data(), iv.data(), iv.size());
    netaio::detail::sha256_state st;
    st.update(key_hash_.view());
    st.update(iv_hash.view());
    st.update(label_hash_.view());
    key32 out;
    st.final(out.data());
    return out;
  }

 private:
  key32 key_hash_;
  key32 label_hash_;
};

/// The label of the reference's keystream key: derive_key(key, iv, "enc").
inline constexpr std::uint8_t enc_label[] = {'e', 'n', 'c'};
/// The label of the reference's MAC key: derive_key(key, iv, "mac").
inline constexpr std::uint8_t mac_label[] = {'m', 'a', 'c'};

/// Fills `out` with the reference's keystream for (key, iv) starting at byte
/// offset `start`: block n is SHA-256(derive_key(key, iv, "enc") || be32(n)).
inline void keystream_into(byte_view key, byte_view iv, std::span<std::uint8_t> out,
                           std::size_t start = 0) {
  const key32 k = derive_key({key, iv, byte_view(enc_label)});
  key32 block;
  std::uint8_t in[digest_size + 4];
  std::copy(k.begin(), k.end(), in);
  std::size_t pos = start;  // absolute stream offset of out[i]
  std::size_t i = 0;
  while (i < out.size()) {
    const std::uint64_t counter = pos / digest_size;
    // The reference's counter is a 4-byte big-endian int; past 2**32 blocks
    // (128 GiB) it would raise. Our bodies are < 64 KiB, so it never wraps.
    in[digest_size + 0] = static_cast<std::uint8_t>(counter >> 24);
    in[digest_size + 1] = static_cast<std::uint8_t>(counter >> 16);
    in[digest_size + 2] = static_cast<std::uint8_t>(counter >> 8);
    in[digest_size + 3] = static_cast<std::uint8_t>(counter);
    crypto_hash_sha256(block.data(), in, sizeof in);
    const std::size_t off = pos % digest_size;
    const std::size_t n = std::min(digest_size - off, out.size() - i);
    std::copy_n(block.data() + off, n, out.data() + i);
    i += n;
    pos += n;
  }
  sodium_memzero(in, sizeof in);
}

/// `length` bytes of the reference's keystream, skipping `start` bytes.
inline byte_buffer keystream(byte_view key, byte_view iv, std::size_t length,
                             std::size_t start = 0) {
  byte_buffer out(length);
  keystream_into(key, iv, out, start);
  return out;
}

/// XORs `data` in place with the keystream of the derived key `k`
/// (derive_key(key, iv, "enc")).
inline void symcrypt_derived(const key32& k, std::span<std::uint8_t> data) {
  key32 block;
  std::uint8_t in[digest_size + 4];
  std::copy(k.begin(), k.end(), in);
  std::uint32_t counter = 0;
  for (std::size_t i = 0; i < data.size(); i += digest_size, ++counter) {
    in[digest_size + 0] = static_cast<std::uint8_t>(counter >> 24);
    in[digest_size + 1] = static_cast<std::uint8_t>(counter >> 16);
    in[digest_size + 2] = static_cast<std::uint8_t>(counter >> 8);
    in[digest_size + 3] = static_cast<std::uint8_t>(counter);
    crypto_hash_sha256(block.data(), in, sizeof in);
    const std::size_t n = std::min(digest_size, data.size() - i);
    for (std::size_t j = 0; j < n; ++j)
      data[i + j] ^= block[j];
  }
  sodium_memzero(in, sizeof in);
}

/// XORs `data` in place with the keystream (encrypts and decrypts alike).
inline void symcrypt_inplace(byte_view key, byte_view iv, std::span<std::uint8_t> data) {
  symcrypt_derived(derive_key({key, iv, byte_view(enc_label)}), data);
}

/// The reference's symcrypt: `data` XOR keystream, as a new buffer.
inline byte_buffer symcrypt(byte_view key, byte_view iv, byte_view data) {
  byte_buffer out = to_buffer(data);
  symcrypt_inplace(key, iv, out);
  return out;
}

/// The reference's HMAC under one key, for a plugin that MACs every message
/// with it: key_deriver makes the key's and the label's hashes once. (The
/// rest depends on the iv, a fresh nonce per message.)
class hmac_key {
 public:
  explicit hmac_key(byte_view key) : deriver_(key, mac_label) {}

  /// hmac(key, iv, message).
  digest mac(byte_view iv, std::initializer_list<byte_view> message) const {
    return mac_derived(deriver_.derive(iv), message);
  }

  /// The RFC 2104 part of the reference's HMAC: SHA-256 with a 136-byte
  /// block under the derived key `k`.
  static digest mac_derived(const key32& k, std::initializer_list<byte_view> message) {
    secret_array<hmac_block_size> pad;  // zero-padded key, then XORed in place
    std::copy(k.begin(), k.end(), pad.data());
    for (std::size_t i = 0; i < hmac_block_size; ++i)
      pad[i] ^= 0x36;
    key32 partial;
    {
      netaio::detail::sha256_state inner;
      inner.update(pad.view());
      for (auto m : message)
        inner.update(m);
      inner.final(partial.data());
    }
    for (std::size_t i = 0; i < hmac_block_size; ++i)
      pad[i] ^= 0x36 ^ 0x5c;
    netaio::detail::sha256_state outer;
    outer.update(pad.view());
    outer.update(partial.view());
    digest out;
    outer.final(out.data());
    return out;
  }

 private:
  key_deriver deriver_;
};

/// The reference's HMAC: RFC 2104 shape over SHA-256 with a 136-byte block,
/// keyed by derive_key(key, iv, "mac"), over the concatenation of `message`.
inline digest hmac(byte_view key, byte_view iv, std::initializer_list<byte_view> message) {
  return hmac_key::mac_derived(derive_key({key, iv, byte_view(mac_label)}), message);
}

/// hmac() over a single message.
inline digest hmac(byte_view key, byte_view iv, byte_view message) {
  return hmac(key, iv, {message});
}

/// True if `mac` is the HMAC of `message`; compares in constant time.
inline bool check_hmac(byte_view key, byte_view iv, std::initializer_list<byte_view> message,
                       byte_view mac) {
  const digest expected = hmac(key, iv, message);
  if (mac.size() != expected.size()) return false;
  return sodium_memcmp(expected.data(), mac.data(), expected.size()) == 0;
}

/// check_hmac() over a single message.
inline bool check_hmac(byte_view key, byte_view iv, byte_view message, byte_view mac) {
  return check_hmac(key, iv, {message}, mac);
}

}  // namespace netaio::inline v0::crypto
