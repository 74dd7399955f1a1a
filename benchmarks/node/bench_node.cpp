// The node benchmarks: request/response through the full node (tcp_client
// request -> tcp_server handler -> answer), beside the io layer's echo of the
// very same frames, many requests in flight on one connection, and the stop
// of a server holding many connections (with its memory per connection).
//
//   bench_node rtt PLUGINS SECONDS      node round trips per second, one connection
//   bench_node io PLUGINS SECONDS       the io layer's echo (bench_io_netaio's
//     loop) of the frames the node exchanges with PLUGINS: the same bytes on
//     the wire, no decoding, no plugins, no handler
//   bench_node inflight K SECONDS       K requests in flight at once on one
//     connection (K tasks, each a loop of requests); requests per second
//   bench_node frame                    prints the hex of a plain echo
//     request (what the load generator sends in the stop scenario)
//   bench_node stop CONNS MAX_SECONDS
//     prints "PORT n"; once CONNS clients (bench_io_loadgen idle, another
//     process) have each been answered once, reports the server's resident
//     memory per connection, then times server.stop()
//
// PLUGINS: plain | hmac | hmac_cipher (HMAC, then HMAC + the SHA-256 stream
// cipher, the reference's plugins, as the interop tests set them up).
#include "../io/common.hpp"

#include <netaio/core.hpp>
#include <netaio/io.hpp>
#include <netaio/node.hpp>
#include <netaio/plugins.hpp>
#include <netaio/wire.hpp>

#include <malloc.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <new>
#include <span>
#include <string>
#include <thread>
#include <vector>

using namespace netaio_bench;
using namespace netaio;

// Live heap bytes (malloc_usable_size of every operator new block), counted
// only in the stop scenario: the memory of an idle connection, exactly, beside
// the resident-memory figure the io benchmark uses.
std::atomic<bool> count_heap{false};
std::atomic<long> heap_live{0};

void* counted_new(std::size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  if (count_heap.load(std::memory_order_relaxed))
    heap_live.fetch_add(static_cast<long>(::malloc_usable_size(p)), std::memory_order_relaxed);
  return p;
}
void counted_delete(void* p) noexcept {
  if (p == nullptr) return;
  if (count_heap.load(std::memory_order_relaxed))
    heap_live.fetch_sub(static_cast<long>(::malloc_usable_size(p)), std::memory_order_relaxed);
  std::free(p);
}

void* operator new(std::size_t n) {
  return counted_new(n);
}
void* operator new[](std::size_t n) {
  return counted_new(n);
}
void operator delete(void* p) noexcept {
  counted_delete(p);
}
void operator delete[](void* p) noexcept {
  counted_delete(p);
}
void operator delete(void* p, std::size_t) noexcept {
  counted_delete(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  counted_delete(p);
}

namespace {

using namespace std::chrono_literals;

// The request's content: with the uri "echo", a frame of 79 bytes when
// plain, as the io benchmark's frames.
constexpr std::string_view content = "netaio benchmark request content, the same each time..";

plugin_layer<message> plugins_for(const std::string& mode) {
  plugin_layer<message> l;
  if (mode == "plain") return l;
  if (mode != "hmac" && mode != "hmac_cipher") throw error("bench_node: unknown plugins " + mode);
  l.auth = hmac_auth_plugin("secret");
  if (mode == "hmac_cipher") l.cipher = sha256_stream_cipher_plugin("key");
  return l;
}

tcp_server_options server_options(std::size_t handlers = 1) {
  tcp_server_options o;
  o.at = endpoint::parse("127.0.0.1:0");
  o.max_connections = 1'000'000;
  o.max_concurrent_handlers = handlers;
  return o;
}

void install_echo(tcp_server& s) {
  s.on(handler_key::of(message_type::request_uri, "echo"), [](message& m) {
    return make_respond_uri_msg<message>(m.body().content(), m.body().uri());
  });
}

// A server on its own thread and loop, running until the client's side asks
// it to stop.
struct server_thread {
  io_context io;
  tcp_server server;
  std::uint16_t port = 0;
  std::thread thread;

  explicit server_thread(const plugin_layer<message>& outer, std::size_t handlers = 1)
      : server(io, server_options(handlers)) {
    install_echo(server);
    server.set_plugins(outer);
    port =
        io.run([this]() -> task<std::uint16_t> { co_return (co_await server.start()).port(); }());
    thread = std::thread([this] { io.run(server.run()); });
  }
  ~server_thread() {
    io.post([this] { server.request_stop(); });
    thread.join();
  }
};

struct rtt_result {
  std::uint64_t count = 0;
  double elapsed = 0;
};

task<rtt_result> requests(tcp_client& client, double seconds, std::size_t in_flight) {
  const byte_view uri = as_bytes("echo");
  const byte_view body = as_bytes(content);
  auto one = [&]() -> task<> {
    message m = co_await client.request(uri, {}, body);
    if (m.type() != message_type::respond_uri || m.body().content().size() != body.size())
      throw error("bench_node: wrong answer");
  };
  for (int i = 0; i < 2000; ++i)
    co_await one();
  rtt_result r;
  const auto t0 = bench_clock::now();
  const auto end = t0 + std::chrono::duration<double>(seconds);
  auto worker = [&]() -> task<> {
    while (bench_clock::now() < end) {
      for (int i = 0; i < 16; ++i)
        co_await one();
      r.count += 16;
    }
  };
  if (in_flight <= 1) {
    co_await worker();
  } else {
    co_await with_scope([&](task_scope& s) -> task<void> {
      for (std::size_t i = 0; i < in_flight; ++i)
        s.spawn(worker, "worker");
      co_return;
    });
  }
  r.elapsed = seconds_since(t0);
  co_return r;
}

int node_rtt(const std::string& mode, double seconds, std::size_t in_flight) {
  const auto outer = plugins_for(mode);
  server_thread srv(outer);
  io_context io;
  tcp_client client(io, tcp_client_options{.server = endpoint(ip_address::loopback(), srv.port)});
  client.set_plugins(outer);
  const rtt_result r = io.run([&]() -> task<rtt_result> {
    co_await client.connect();
    auto res = co_await requests(client, seconds, in_flight);
    co_await client.stop();
    co_return res;
  }());
  const double rate = static_cast<double>(r.count) / r.elapsed;
  const std::string extra = "count=" + std::to_string(r.count) + " plugins=" + mode +
                            " in_flight=" + std::to_string(in_flight);
  print_result(in_flight <= 1 ? "rtt" : "inflight", "node", rate, "rtt/s", extra);
  return 0;
}

// The frames the node exchanges with `outer`: a request and its answer, sealed.
std::pair<byte_buffer, byte_buffer> node_frames(const plugin_layer<message>& outer) {
  logger log;
  const plugin_context ctx{};
  auto req = prepare_message(message::prepare(body::prepare(as_bytes(content), as_bytes("echo")),
                                              message_type::request_uri),
                             {}, outer, ctx, log);
  auto ans = prepare_message(make_respond_uri_msg<message>(as_bytes(content), as_bytes("echo")), {},
                             outer, ctx, log);
  if (!req || !ans) throw error("bench_node: could not seal");
  std::pair<byte_buffer, byte_buffer> out;
  req->encode_to(out.first);
  ans->encode_to(out.second);
  return out;
}

// The io benchmark's frame_buffer, parsing real netaio frames (whose type
// may be 0, REQUEST_URI, which the io benchmark's parser takes as malformed).
class node_frame_buffer {
 public:
  explicit node_frame_buffer(std::size_t capacity) : data_(capacity) {}
  std::span<unsigned char> space() noexcept { return {data_.data() + len_, data_.size() - len_}; }
  /// Takes `n` more bytes; returns how many complete frames they finished.
  std::uint64_t commit(std::size_t n) noexcept {
    len_ += n;
    std::uint64_t frames = 0;
    std::size_t off = 0;
    while (len_ - off >= header_size) {
      const unsigned char* h = data_.data() + off;
      const std::size_t total =
          header_size + (std::size_t{h[1]} << 8 | h[2]) + (std::size_t{h[3]} << 8 | h[4]);
      if (len_ - off < total) break;
      ++frames;
      off += total;
    }
    if (off != 0) {
      len_ -= off;
      if (len_ != 0) std::memmove(data_.data(), data_.data() + off, len_);
    }
    return frames;
  }

 private:
  std::vector<unsigned char> data_;
  std::size_t len_ = 0;
};

std::span<unsigned char> space(node_frame_buffer& buf) noexcept {
  return buf.space();
}

// bench_io_netaio's echo: answers every complete frame of a read, one write.
task<> io_echo(tcp_stream s, const byte_buffer& reply) {
  node_frame_buffer buf(big_buffer);
  std::vector<unsigned char> out;
  for (;;) {
    const std::size_t n = co_await s.read_some(space(buf));
    if (n == 0) break;
    const std::uint64_t frames = buf.commit(n);
    if (frames == 0) continue;
    out.clear();
    for (std::uint64_t i = 0; i < frames; ++i)
      out.insert(out.end(), reply.begin(), reply.end());
    co_await s.write_all(out);
  }
}

int io_rtt(const std::string& mode, double seconds) {
  const auto [request, reply] = node_frames(plugins_for(mode));
  io_context server_io;
  tcp_listener listener = tcp_listener::bind(server_io, endpoint(ip_address::loopback(), 0));
  const std::uint16_t port = listener.local_endpoint().port();
  std::thread server([&] {
    server_io.run([&]() -> task<> {
      tcp_stream s = co_await listener.accept();
      listener.close();
      co_await io_echo(std::move(s), reply);
    }());
  });
  io_context io;
  rtt_result r = io.run([&]() -> task<rtt_result> {
    tcp_stream s = co_await tcp_stream::connect(io, endpoint(ip_address::loopback(), port));
    node_frame_buffer buf(big_buffer);
    auto round_trip = [&]() -> task<> {
      co_await s.write_all(request);
      std::uint64_t got = 0;
      while (got == 0) {
        const std::size_t n = co_await s.read_some(space(buf));
        if (n == 0) throw error("bench: the server closed the connection");
        got = buf.commit(n);
      }
    };
    for (int i = 0; i < 2000; ++i)
      co_await round_trip();
    rtt_result res;
    const auto t0 = bench_clock::now();
    const auto end = t0 + std::chrono::duration<double>(seconds);
    while (bench_clock::now() < end) {
      for (int i = 0; i < 16; ++i)
        co_await round_trip();
      res.count += 16;
    }
    res.elapsed = seconds_since(t0);
    co_return res;
  }());
  server.join();
  print_result("rtt", "io", static_cast<double>(r.count) / r.elapsed, "rtt/s",
               "count=" + std::to_string(r.count) + " plugins=" + mode + " request_b=" +
                   std::to_string(request.size()) + " reply_b=" + std::to_string(reply.size()));
  return 0;
}

int print_frame() {
  const auto [request, reply] = node_frames({});
  for (const auto b : request)
    std::printf("%02x", b);
  std::printf("\n");
  return 0;
}

int stop(std::size_t count) {
  io_context io;
  tcp_server server(io, server_options());
  std::size_t answered = 0;
  async_event all;
  // The echo, counting answers (each client sends one request).
  server.on(handler_key::of(message_type::request_uri, "echo"), [&](message& m) {
    if (++answered == count) all.set();
    return make_respond_uri_msg<message>(m.body().content(), m.body().uri());
  });
  double ms = 0;
  double cpu_ms = 0;
  double wait_ms = 0;
  long rss_before = 0;
  long rss_idle = 0;
  long heap_before = 0;
  long heap_idle = 0;
  std::size_t conns = 0;
  std::size_t recv_buffer = 0;
  io.run([&]() -> task<> {
    const endpoint at = co_await server.start();
    co_await sleep_for(50ms);
    rss_before = resident_bytes();
    heap_before = heap_live.load();
    std::printf("PORT %u\n", static_cast<unsigned>(at.port()));
    std::fflush(stdout);
    co_await all.wait();
    co_await sleep_for(200ms);  // every connection back in its read, idle
    rss_idle = resident_bytes();
    heap_idle = heap_live.load();
    count_heap = false;  // stop() is timed without the counting
    conns = server.connection_count();
    if (auto* c = server.connection(1))
      recv_buffer = detail::connection_access::framed(*c).buffer_capacity();
    if (const char* d = std::getenv("BENCH_STOP_DELAY_MS"))
      co_await sleep_for(std::chrono::milliseconds(std::atol(d)));  // to attach a profiler
    const double cpu0 = cpu_seconds();
    const double wait0 = runqueue_wait_seconds();
    const auto t0 = bench_clock::now();
    co_await server.stop();
    ms = seconds_since(t0) * 1000.0;
    cpu_ms = (cpu_seconds() - cpu0) * 1000.0;
    wait_ms = (runqueue_wait_seconds() - wait0) * 1000.0;
  }());
  if (conns != count) {
    std::fprintf(stderr, "bench_node: %zu connections, not the expected %zu\n", conns, count);
    return 1;
  }
  const double per_conn = static_cast<double>(rss_idle - rss_before) / static_cast<double>(count);
  const double heap_per_conn =
      static_cast<double>(heap_idle - heap_before) / static_cast<double>(count);
  char extra[512];
  std::snprintf(extra, sizeof extra,
                "conns=%zu cpu_ms=%.2f runq_wait_ms=%.2f rss_idle_per_conn_b=%.0f "
                "heap_per_conn_b=%.0f recv_buffer_b=%zu other_per_conn_b=%.0f "
                "rss_other_per_conn_b=%.0f open_fds_after=%zu",
                count, cpu_ms, wait_ms, per_conn, heap_per_conn, recv_buffer,
                heap_per_conn - static_cast<double>(recv_buffer),
                per_conn - static_cast<double>(recv_buffer), io.registered_descriptors());
  print_result("stop", "node", ms, "ms", extra);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string scenario = argc > 1 ? argv[1] : "";
  try {
    if ((scenario == "rtt" || scenario == "io" || scenario == "inflight") && argc == 4) {
      const double seconds = std::atof(argv[3]);
      self_destruct_after(static_cast<unsigned>(seconds) + 30);
      if (scenario == "rtt") return node_rtt(argv[2], seconds, 1);
      if (scenario == "io") return io_rtt(argv[2], seconds);
      return node_rtt("plain", seconds, static_cast<std::size_t>(std::atol(argv[2])));
    }
    if (scenario == "frame") return print_frame();
    if (scenario == "stop" && argc == 4) {
      raise_fd_limit();
      count_heap = true;
      self_destruct_after(static_cast<unsigned>(std::atoi(argv[3])));
      return stop(static_cast<std::size_t>(std::atol(argv[2])));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_node: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: bench_node rtt|io plain|hmac|hmac_cipher SECONDS | inflight K SECONDS | "
               "frame | stop CONNS MAX_SECONDS\n");
  return 2;
}
