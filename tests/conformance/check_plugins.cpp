// Plugin sections of the conformance runner (owned by the plugins layer).
#include <netaio/plugins.hpp>
#include <netaio/wire/message.hpp>

#include "report.hpp"
#include "support/hex.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace conformance {

namespace {

using netaio::byte_buffer;
using netaio::byte_view;
using test::from_hex;
using test::to_hex;

byte_buffer hex_at(const nlohmann::json& v, const char* key) {
  return from_hex(v.at(key).get<std::string>());
}

/// Compares and reports; returns true when equal.
struct checker {
  report& r;
  const char* section;
  std::size_t index;
  bool ok = true;

  void eq(std::string_view what, const std::string& got, const std::string& want) {
    if (got == want) return;
    ok = false;
    r.mismatch(section, index,
               std::string(what) + ": got " + got.substr(0, 160) + ", want " + want.substr(0, 160));
  }
  void truth(std::string_view what, bool cond) {
    if (cond) return;
    ok = false;
    r.mismatch(section, index, std::string(what));
  }
};

/// Runs `body` for each vector of `section`, reporting exceptions as mismatches.
void each(const nlohmann::json& root, report& r, const char* section,
          const std::function<void(const nlohmann::json&, checker&)>& body) {
  if (!root.contains(section)) return;
  std::size_t i = 0;
  for (const auto& v : root.at(section)) {
    checker c{r, section, i};
    try {
      body(v, c);
    } catch (const std::exception& e) {
      r.mismatch(section, i, std::string("threw: ") + e.what());
    }
    r.checked(section);
    ++i;
  }
}

std::function<void(std::span<std::uint8_t>)> fixed_bytes(byte_buffer b) {
  return [b = std::move(b)](std::span<std::uint8_t> out) {
    if (out.size() != b.size()) throw std::logic_error("fixed random of the wrong size");
    std::copy(b.begin(), b.end(), out.begin());
  };
}

netaio::message_type type_of_frame(const byte_buffer& frame) {
  return static_cast<netaio::message_type>(frame.at(0));
}

}  // namespace

void check_plugin_sections(const nlohmann::json& root, report& r) {
  using namespace netaio;

  each(root, r, "derive_key", [](const nlohmann::json& v, checker& c) {
    std::vector<byte_buffer> parts;
    for (const auto& p : v.at("parts"))
      parts.push_back(from_hex(p.get<std::string>()));
    const std::vector<byte_view> views(parts.begin(), parts.end());
    c.eq("key", to_hex(crypto::derive_key(views)), v.at("key").get<std::string>());
  });

  each(root, r, "keystream", [](const nlohmann::json& v, checker& c) {
    c.eq("stream",
         to_hex(crypto::keystream(hex_at(v, "key"), hex_at(v, "iv"),
                                  v.at("length").get<std::size_t>(),
                                  v.at("start").get<std::size_t>())),
         v.at("stream").get<std::string>());
  });

  each(root, r, "hmac", [](const nlohmann::json& v, checker& c) {
    const auto key = hex_at(v, "key");
    const auto iv = hex_at(v, "iv");
    const auto msg = hex_at(v, "message");
    c.eq("mac", to_hex(crypto::hmac(key, iv, byte_view(msg))), v.at("mac").get<std::string>());
    c.truth("check_hmac rejects the reference's mac",
            crypto::check_hmac(key, iv, byte_view(msg), hex_at(v, "mac")));
  });

  each(root, r, "hmac_auth_plugin", [](const nlohmann::json& v, checker& c) {
    const auto frame = hex_at(v, "encoded");
    const auto ts = v.at("ts").get<std::int64_t>();
    const hmac_auth_plugin plugin(v.at("secret").get<std::string>(),
                                  {.hmac_field = v.at("hmac_field").get<std::string>(),
                                   .clock = [ts] { return ts; },
                                   .random = fixed_bytes(hex_at(v, "nonce"))});
    message m = message::prepare(body::prepare(hex_at(v, "content"), hex_at(v, "uri")),
                                 type_of_frame(frame));
    plugin.make(m.auth_data(), m.body());
    for (const auto& [name, value] : v.at("auth_fields").items()) {
      const byte_buffer* got = m.auth_data().find(name);
      c.eq("auth field " + name, got ? to_hex(*got) : std::string("<missing>"),
           value.get<std::string>());
    }
    c.truth("auth field count", m.auth_data().fields().size() == v.at("auth_fields").size());
    c.eq("encoded", to_hex(m.encode()), to_hex(frame));
    const message back = message::decode(frame);
    c.truth("check() disagrees with the reference",
            plugin.check(back.auth_data(), back.body()) == v.at("check").get<bool>());
  });

  each(root, r, "sha256_stream_cipher_plugin", [](const nlohmann::json& v, checker& c) {
    const auto frame = hex_at(v, "encrypted");
    sha256_stream_cipher_options opts{.iv_field = v.at("iv_field").get<std::string>(),
                                      .encrypt_uri = v.at("encrypt_uri").get<bool>(),
                                      .random = fixed_bytes(hex_at(v, "iv")),
                                      .split = {}};
    if (!v.at("uri_split").is_null()) {
      const auto k = v.at("uri_split").get<std::size_t>();
      opts.split = [k](std::size_t) { return k; };
    }
    const sha256_stream_cipher_plugin plugin(v.at("key").get<std::string>(), opts);
    const message plain = message::prepare(
        body::prepare(hex_at(v, "plain_content"), hex_at(v, "plain_uri")), type_of_frame(frame));
    message enc = plugin.encrypt(plain);
    c.eq("encrypted", to_hex(enc.encode()), to_hex(frame));
    const message dec = plugin.decrypt(message::decode(frame));
    c.eq("decrypted uri", to_hex(dec.body().uri()), v.at("plain_uri").get<std::string>());
    c.eq("decrypted content", to_hex(dec.body().content()),
         v.at("plain_content").get<std::string>());
  });

  each(root, r, "peer_plugin", [](const nlohmann::json& v, checker& c) {
    const default_peer_plugin pp;
    peer p;
    p.id = hex_at(v, "id");
    p.data = hex_at(v, "data");
    const byte_buffer packed = pp.pack(p);
    c.eq("packed", to_hex(packed), v.at("packed").get<std::string>());
    const peer back = pp.unpack(hex_at(v, "packed"));
    c.truth("unpacked id", back.id == p.id);
    c.truth("unpacked data", back.data == p.data);
    c.eq("re-encoded data", to_hex(pp.encode_data(pp.parse_data(p))),
         v.at("data").get<std::string>());
    c.truth("validate", pp.validate(back));
    message adv =
        message::prepare(body::prepare(packed, as_bytes("netaio")), message_type::advertise_peer);
    c.eq("advertise frame", to_hex(adv.encode()), v.at("advertise_frame").get<std::string>());
  });

  each(root, r, "x25519", [](const nlohmann::json& v, checker& c) {
    const auto seed_a = hex_at(v, "seed_a");
    const auto seed_b = hex_at(v, "seed_b");
    const auto kp_a = crypto::box_keypair::from_seed(seed_a);
    const auto kp_b = crypto::box_keypair::from_seed(seed_b);
    c.eq("vkey_a", to_hex(kp_a.verify_key()), v.at("vkey_a").get<std::string>());
    c.eq("pubkey_a", to_hex(kp_a.public_key_bytes()), v.at("pubkey_a").get<std::string>());
    c.eq("pubkey_b", to_hex(kp_b.public_key_bytes()), v.at("pubkey_b").get<std::string>());
    const auto nonce = hex_at(v, "nonce");
    crypto::box_nonce n{};
    if (nonce.size() != n.size()) throw std::invalid_argument("nonce is not 24 bytes");
    std::copy(nonce.begin(), nonce.end(), n.begin());
    const auto plain = hex_at(v, "plaintext");
    c.eq("box", to_hex(crypto::box_seal(kp_a.secret_key(), kp_b.public_key_bytes(), plain, n)),
         v.at("box").get<std::string>());

    // The same through the plugins: a's plugin boxes to peer b, b's opens from peer a.
    const default_peer_plugin pp;
    auto peer_with = [&](const crypto::public_key& pk) {
      peer p;
      p.id = byte_buffer{1};
      p.data = pp.encode_data(packify::value::dict({{"pubkey", packify::value::bytes(pk)}}));
      return p;
    };
    const peer peer_a = peer_with(kp_a.public_key_bytes());
    const peer peer_b = peer_with(kp_b.public_key_bytes());
    const x25519_cipher_plugin plugin_a(seed_a, {.random = fixed_bytes(nonce)});
    const x25519_cipher_plugin plugin_b(seed_b);
    const message m = message::prepare(body::prepare(plain), message_type::publish_uri);
    const message enc =
        plugin_a.encrypt(m, {.remote = std::make_shared<const peer>(peer_b), .peer_plugin = pp});
    c.eq("plugin box", to_hex(enc.body().content()), v.at("box").get<std::string>());
    const message dec =
        plugin_b.decrypt(enc, {.remote = std::make_shared<const peer>(peer_a), .peer_plugin = pp});
    c.eq("plugin plaintext", to_hex(dec.body().content()), v.at("plaintext").get<std::string>());
  });
}

}  // namespace conformance
