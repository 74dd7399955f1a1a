// Plugins: HMAC make+check per second, and cipher throughput (the bytes/s
// column) for the SHA-256 stream cipher, X25519 and XChaCha20-Poly1305.
#include <benchmark/benchmark.h>
#include <netaio/plugins.hpp>
#include <netaio/wire/message.hpp>

#include <cstddef>
#include <cstdint>

namespace {

using namespace netaio;

message make_message(std::size_t size) {
  byte_buffer content(size);
  for (std::size_t i = 0; i < size; ++i)
    content[i] = static_cast<std::uint8_t>(i);
  return message::prepare(body::prepare(content, as_bytes("bench/uri")), message_type::publish_uri);
}

void bm_hmac_make_check(benchmark::State& state) {
  const hmac_auth_plugin auth("secret");
  const message m = make_message(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    auth_fields fields;
    auth.make(fields, m.body());
    benchmark::DoNotOptimize(auth.check(fields, m.body()));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(bm_hmac_make_check)->Arg(64)->Arg(1024)->Arg(16 * 1024);

void bm_hmac_make_check_replay(benchmark::State& state) {
  const hmac_auth_plugin sender("secret");
  const hmac_auth_plugin receiver("secret", {.replay = replay_options{60, 65536}});
  const message m = make_message(64);
  for (auto _ : state) {
    auth_fields fields;
    sender.make(fields, m.body());
    benchmark::DoNotOptimize(receiver.check(fields, m.body()));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_hmac_make_check_replay);

template <class Cipher>
void run_cipher(benchmark::State& state, const Cipher& c, const plugin_context& enc_ctx,
                const plugin_context& dec_ctx) {
  const message m = make_message(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    const message e = c.encrypt(m, enc_ctx);
    benchmark::DoNotOptimize(c.decrypt(e, dec_ctx));
  }
  // Bytes encrypted and decrypted per second (each byte counted once per direction).
  state.SetBytesProcessed(state.iterations() * state.range(0) * 2);
  state.SetItemsProcessed(state.iterations());
}

void bm_stream_cipher(benchmark::State& state) {
  run_cipher(state, sha256_stream_cipher_plugin("key"), {}, {});
}
BENCHMARK(bm_stream_cipher)->Arg(64)->Arg(1024)->Arg(16 * 1024)->Arg(60 * 1024);

void bm_aead_cipher(benchmark::State& state) {
  run_cipher(state, aead_cipher_plugin("key"), {}, {});
}
BENCHMARK(bm_aead_cipher)->Arg(64)->Arg(1024)->Arg(16 * 1024)->Arg(60 * 1024);

void bm_x25519_cipher(benchmark::State& state) {
  // One plugin talking to itself: its own pubkey as the peer's, so that
  // encrypt and decrypt use the same (cached) shared key as two peers would.
  const x25519_cipher_plugin c(byte_buffer(32, 7));
  const default_peer_plugin pp;
  peer self;
  self.id = byte_buffer{1};
  self.data =
      pp.encode_data(packify::value::dict({{"pubkey", packify::value::bytes(c.public_key())}}));
  const plugin_context ctx{.remote = std::make_shared<const peer>(self), .peer_plugin = pp};
  run_cipher(state, c, ctx, ctx);
}
BENCHMARK(bm_x25519_cipher)->Arg(64)->Arg(1024)->Arg(16 * 1024)->Arg(60 * 1024);

void bm_x25519_box_uncached(benchmark::State& state) {
  // What each message would cost without the shared-key cache.
  const auto a = crypto::box_keypair::from_seed(byte_buffer(32, 1));
  const auto b = crypto::box_keypair::from_seed(byte_buffer(32, 2));
  const byte_buffer plain(64);
  for (auto _ : state) {
    const auto boxed = crypto::box_seal(a.secret_key(), b.public_key_bytes(), plain);
    benchmark::DoNotOptimize(crypto::box_open(b.secret_key(), a.public_key_bytes(), boxed));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_x25519_box_uncached);

void bm_sealed_layers(benchmark::State& state) {
  // The reference's usual pairing: stream cipher under HMAC, both ways, one layer.
  const plugin_layer<message> layer{hmac_auth_plugin("secret"), sha256_stream_cipher_plugin("key")};
  const message m = make_message(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    message s = seal_layer(m, layer);
    benchmark::DoNotOptimize(open_layer(std::move(s), layer));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(bm_sealed_layers)->Arg(64)->Arg(1024);

}  // namespace

BENCHMARK_MAIN();
