// Frames encoded and decoded per second: the 79-byte netaio-shaped frame
// (empty auth dict, a 5-byte uri, 60 bytes of content) and a 1 KiB one.
#include <benchmark/benchmark.h>
#include <netaio/wire.hpp>

#include <string>

namespace {

using namespace netaio;

message make_frame_message(std::size_t total) {
  // total = 9 header + 3 auth ({}) + 2 uri length + 5 uri + content
  const std::string content(total - 19, 'c');
  return message::prepare(body::prepare(as_bytes(content), as_bytes("/echo")), message_type::ok);
}

message make_auth_message(std::size_t content) {
  auth_fields a;
  a.set("hmac", byte_buffer(32, 0xaa));
  a.set("nonce", byte_buffer(16, 0xbb));
  a.set("ts", byte_buffer(4, 0xcc));
  return message::prepare(body::prepare(byte_buffer(content, 'c'), as_bytes("/echo")),
                          message_type::ok, a);
}

void bm_encode(benchmark::State& state, message m) {
  byte_buffer out;
  out.reserve(2048);
  for (auto _ : state) {
    out.clear();
    m.encode_to(out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
  state.counters["frame_bytes"] = static_cast<double>(out.size());
}

void bm_parse_in_place(benchmark::State& state, message m) {
  const byte_buffer f = m.encode();
  const frame_reader reader;
  for (auto _ : state) {
    auto r = reader.parse(f);
    benchmark::DoNotOptimize(r.frame.content.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(f.size()));
  state.counters["frame_bytes"] = static_cast<double>(f.size());
}

void bm_decode_owned(benchmark::State& state, message m) {
  const byte_buffer f = m.encode();
  for (auto _ : state) {
    message d = message::decode(f);
    benchmark::DoNotOptimize(d.body().content().data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(f.size()));
  state.counters["frame_bytes"] = static_cast<double>(f.size());
}

void bm_stream_of_frames(benchmark::State& state, message m) {
  // 64 frames back to back in one receive buffer, parsed and consumed in place.
  const byte_buffer f = m.encode();
  byte_buffer stream;
  for (int i = 0; i < 64; ++i)
    stream.insert(stream.end(), f.begin(), f.end());
  const frame_reader reader;
  for (auto _ : state) {
    byte_view rest = stream;
    while (!rest.empty()) {
      auto r = reader.parse(rest);
      benchmark::DoNotOptimize(r.frame.content.data());
      rest = rest.subspan(r.needed);
    }
  }
  state.SetItemsProcessed(state.iterations() * 64);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(stream.size()));
}

void bm_packify_auth_encode(benchmark::State& state) {
  const message m = make_auth_message(0);
  for (auto _ : state) {
    byte_buffer b = m.auth_data().encode();
    benchmark::DoNotOptimize(b.data());
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK_CAPTURE(bm_encode, frame_79, make_frame_message(79));
BENCHMARK_CAPTURE(bm_encode, frame_1k, make_frame_message(1024));
BENCHMARK_CAPTURE(bm_encode, frame_hmac_fields_60, make_auth_message(60));
BENCHMARK_CAPTURE(bm_parse_in_place, frame_79, make_frame_message(79));
BENCHMARK_CAPTURE(bm_parse_in_place, frame_1k, make_frame_message(1024));
BENCHMARK_CAPTURE(bm_parse_in_place, frame_hmac_fields_60, make_auth_message(60));
BENCHMARK_CAPTURE(bm_decode_owned, frame_79, make_frame_message(79));
BENCHMARK_CAPTURE(bm_decode_owned, frame_1k, make_frame_message(1024));
BENCHMARK_CAPTURE(bm_stream_of_frames, frame_79, make_frame_message(79));
BENCHMARK(bm_packify_auth_encode);

BENCHMARK_MAIN();
