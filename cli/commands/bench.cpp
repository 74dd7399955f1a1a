// bench: a load generator against any netaio server's echo uri (issue 10).
//
// N tcp_clients (node/tcp_client.hpp) with the security options' plugins,
// each keeping K REQUEST_URI "echo" requests of --size bytes in flight for
// --duration seconds of the real clock (this is a measuring tool: no virtual
// time). Progress goes to stderr once a second: one line rewritten with \r
// on a terminal, plain lines otherwise. Then the result on stdout: requests,
// requests per second and latency percentiles (p50, p90, p99, p99.9, max),
// as text or, with --json, as one JSON object. SIGINT/SIGTERM end the run
// early; the result covers what ran.
//
// Exit: 0 the run completed (errors, if any, are counted in the result);
// 2 no request got its echo back (wrong secret, no echo uri: the last
// answer on stderr); 4 cannot connect; 64 bad usage.
#include "../messages.hpp"
#include "../net.hpp"
#include "../security.hpp"
#include "../stop_on_signal.hpp"
#include "commands.hpp"

#include <netaio/core/sleep.hpp>
#include <netaio/core/with_scope.hpp>
#include <netaio/io/signal_set.hpp>
#include <netaio/node/tcp_client.hpp>

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <csignal>
#include <cstdio>
#include <memory>
#include <vector>

namespace netaio_cli {

namespace {

using namespace netaio;
using namespace std::chrono_literals;
using bench_clock = std::chrono::steady_clock;

struct bench_options {
  std::string address;
  std::size_t connections = 4;
  double duration = 10;
  std::size_t inflight = 1;
  std::size_t size = 64;
  double timeout = 10;
  bool json = false;
  security_options security;
};

// Latencies in nanoseconds, log-linear buckets: exact below 1024 ns, then
// 128 buckets per power of two (under 0.8 % apart). Percentiles come from
// one cumulative walk, so they are ordered, and are clamped to the exact max.
class latency_histogram {
 public:
  void record(std::uint64_t ns) {
    ++buckets_[index(ns)];
    ++count_;
    sum_ += ns;
    max_ = std::max(max_, ns);
  }
  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t max() const noexcept { return max_; }
  double mean() const noexcept {
    return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_);
  }
  /// The smallest bucket bound under which a fraction `q` of the samples lie.
  std::uint64_t percentile(double q) const {
    if (count_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_) + 0.999999);
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= rank) return std::min(upper(i), max_);
    }
    return max_;
  }

 private:
  static constexpr std::size_t linear = 1024;
  static constexpr unsigned sub_bits = 7;
  static std::size_t index(std::uint64_t v) {
    if (v < linear) return static_cast<std::size_t>(v);
    const unsigned e = static_cast<unsigned>(std::bit_width(v)) - 1;  // >= 10
    const std::uint64_t sub = (v >> (e - sub_bits)) & ((1u << sub_bits) - 1);
    return linear + (e - 10) * (1u << sub_bits) + static_cast<std::size_t>(sub);
  }
  static std::uint64_t upper(std::size_t i) {
    if (i < linear) return i;
    const std::size_t k = i - linear;
    const unsigned e = static_cast<unsigned>(k >> sub_bits) + 10;
    const std::uint64_t sub = k & ((1u << sub_bits) - 1);
    const std::uint64_t hi = ((std::uint64_t{1} << sub_bits) + sub + 1) << (e - sub_bits);
    return hi - 1;
  }
  std::vector<std::uint64_t> buckets_ = std::vector<std::uint64_t>(linear + 54 * 128, 0);
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t max_ = 0;
};

struct bench_state {
  latency_histogram latencies;
  std::uint64_t errors = 0;
  std::uint64_t timeouts = 0;
  std::string last_error;
  bool interrupted = false;
  bench_clock::time_point end;
};

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

double us(std::uint64_t ns) {
  return static_cast<double>(ns) / 1000.0;
}

// One of K request loops on one client: until the end, a signal, or a
// failure that would repeat (the connection gone, the seal refused).
task<void> worker(tcp_client& client, const byte_buffer& content, bench_state& s) {
  const byte_view uri = as_bytes("echo");
  while (!s.interrupted && bench_clock::now() < s.end) {
    const auto t0 = bench_clock::now();
    std::string failure;
    bool stop = false;
    try {
      message m = co_await client.request(uri, {}, content);
      const auto dt = bench_clock::now() - t0;
      if (m.type() == message_type::respond_uri && m.body().content().size() == content.size()) {
        s.latencies.record(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(dt).count()));
        continue;
      }
      const auto c = m.body().content();
      failure = type_name(static_cast<std::uint8_t>(m.type())) + ": " +
                std::string(reinterpret_cast<const char*>(c.data()), c.size());
      stop = true;  // the server does not echo: asking again would say the same
    } catch (const timed_out&) {
      ++s.timeouts;
      failure = "no answer in time";
    } catch (const authentication_failed& e) {
      failure = "AUTH_ERROR: " + strip_prefix(e.what());
      stop = true;
    } catch (const io_error& e) {
      failure = strip_prefix(e.what());
      stop = true;
    }
    ++s.errors;
    s.last_error = failure;
    if (stop) co_return;
  }
}

// A progress line a second on stderr: \r-rewritten on a terminal.
task<void> progress(bench_state& s, bench_clock::time_point start, bool tty) {
  std::uint64_t last = 0;
  auto last_at = start;
  for (;;) {
    co_await sleep_for(1s);
    const auto now = bench_clock::now();
    const std::uint64_t n = s.latencies.count();
    const double rate =
        static_cast<double>(n - last) / std::chrono::duration<double>(now - last_at).count();
    last = n;
    last_at = now;
    std::string line = fixed(std::chrono::duration<double>(now - start).count(), 1) + " s  " +
                       std::to_string(n) + " requests  " + fixed(rate, 0) + " requests/s  " +
                       std::to_string(s.errors) + " errors";
    if (tty) {
      std::fprintf(stderr, "\r%s\033[K", line.c_str());
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    std::fflush(stderr);
  }
}

int run_bench(const bench_options& o, app_state& st) {
  const endpoint to = parse_address(o.address);
  const auto duration = seconds(o.duration, "--duration");
  const auto timeout = seconds(o.timeout, "--timeout");
  if (timeout.count() == 0) throw usage_error("--timeout must be more than 0");
  const layer_t layer = make_layer(o.security, st.log);
  const byte_buffer content(o.size, 'x');
  (void)make_message(static_cast<std::uint8_t>(message_type::request_uri), as_bytes("echo"),
                     content);  // usage_error if it cannot fit a frame
  const bool tty = ::isatty(STDERR_FILENO) == 1;

  io_context io;
  keep_stop_signals_blocked();
  signal_set signals(io, {SIGINT, SIGTERM});
  bench_state s;
  double elapsed = 0;
  auto body = [&]() -> task<int> {
    std::vector<std::unique_ptr<tcp_client>> clients;
    for (std::size_t i = 0; i < o.connections; ++i) {
      clients.push_back(std::make_unique<tcp_client>(
          io, tcp_client_options{
                  .server = to, .connect_timeout = timeout, .request_timeout = timeout}));
      clients.back()->set_logger(st.log);
      clients.back()->set_plugins(layer);
    }
    std::string failure;
    for (auto& c : clients) {
      try {
        co_await c->connect();
      } catch (const std::exception& e) {
        failure = strip_prefix(e.what());
      }
      if (!failure.empty()) break;
    }
    int code = exit_code::ok;
    if (!failure.empty()) {
      const std::string again = "connect to " + to.to_string() + ": ";
      if (failure.starts_with(again)) failure.erase(0, again.size());
      print_error("cannot connect to " + to.to_string() + ": " + failure);
      code = exit_code::cannot_connect;
    } else {
      const auto start = bench_clock::now();
      s.end = start + duration;
      co_await with_scope([&](task_scope& outer) -> task<void> {
        outer.spawn([&]() { return progress(s, start, tty); }, "progress");
        outer.spawn(
            [&]() -> task<void> {
              (void)co_await signals.wait();
              s.interrupted = true;
            },
            "signals");
        co_await with_scope([&](task_scope& w) -> task<void> {
          for (auto& c : clients)
            for (std::size_t k = 0; k < o.inflight; ++k)
              w.spawn([&c, &content, &s]() { return worker(*c, content, s); }, "worker");
          co_return;
        });
        outer.cancel();
      });
      elapsed = std::chrono::duration<double>(bench_clock::now() - start).count();
      if (tty) std::fputs("\r\033[K", stderr);
    }
    for (auto& c : clients)
      co_await c->stop(1s);
    co_return code;
  };
  const int code = io.run(body());
  if (code != exit_code::ok) return code;

  const latency_histogram& h = s.latencies;
  const double rate = elapsed > 0 ? static_cast<double>(h.count()) / elapsed : 0.0;
  const double p50 = us(h.percentile(0.50)), p90 = us(h.percentile(0.90)),
               p99 = us(h.percentile(0.99)), p999 = us(h.percentile(0.999)), mx = us(h.max());
  if (o.json) {
    std::string j =
        "{\"address\": \"" + to.to_string() +
        "\", \"connections\": " + std::to_string(o.connections) +
        ", \"inflight\": " + std::to_string(o.inflight) + ", \"size\": " + std::to_string(o.size) +
        ", \"duration_s\": " + fixed(elapsed, 3) + ", \"requests\": " + std::to_string(h.count()) +
        ", \"errors\": " + std::to_string(s.errors) +
        ", \"timeouts\": " + std::to_string(s.timeouts) +
        ", \"requests_per_s\": " + fixed(rate, 1) + ", \"latency_us\": {\"p50\": " + fixed(p50, 1) +
        ", \"p90\": " + fixed(p90, 1) + ", \"p99\": " + fixed(p99, 1) +
        ", \"p99_9\": " + fixed(p999, 1) + ", \"max\": " + fixed(mx, 1) +
        ", \"mean\": " + fixed(h.mean() / 1000.0, 1) +
        "}, \"interrupted\": " + (s.interrupted ? "true" : "false") + "}";
    print_line(j);
  } else {
    print_line("bench " + to.to_string() + ": " + std::to_string(o.connections) +
               " connections x " + std::to_string(o.inflight) + " in flight, " +
               std::to_string(o.size) + "-byte echo, " + fixed(elapsed, 1) + " s" +
               (s.interrupted ? " (interrupted)" : ""));
    print_line("requests: " + std::to_string(h.count()) + " (" + std::to_string(s.errors) +
               " errors, " + std::to_string(s.timeouts) + " timeouts)");
    print_line("rate: " + fixed(rate, 1) + " requests/s");
    print_line("latency: p50 " + fixed(p50 / 1000, 3) + " ms  p90 " + fixed(p90 / 1000, 3) +
               " ms  p99 " + fixed(p99 / 1000, 3) + " ms  p99.9 " + fixed(p999 / 1000, 3) +
               " ms  max " + fixed(mx / 1000, 3) + " ms");
  }
  if (s.errors > 0) print_error("last error: " + s.last_error);
  if (h.count() == 0) {
    print_error("no request got its echo back");
    return exit_code::error_answer;
  }
  return exit_code::ok;
}

}  // namespace

void add_bench_command(CLI::App& app, app_state& st) {
  auto o = std::make_shared<bench_options>();
  auto* cmd = app.add_subcommand(
      "bench",
      "Load-test a netaio server's echo uri (REQUEST_URI echo): N connections with K requests in "
      "flight each; progress on stderr, then requests per second and latency percentiles (p50, "
      "p90, p99, p99.9, max) on stdout. Exit 0 done, 2 no echo came back, 4 cannot connect.");
  cmd->add_option("ADDR", o->address, "the server, HOST:PORT")->required();
  cmd->add_option("--connections", o->connections, "connections (default 4)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10000}));
  cmd->add_option("--duration", o->duration, "seconds to run (default 10)");
  cmd->add_option("--inflight", o->inflight, "requests in flight per connection (default 1)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10000}));
  cmd->add_option("--size", o->size, "content bytes per request (default 64)");
  cmd->add_option("--timeout", o->timeout,
                  "seconds to wait for a connection and for each answer (default 10)");
  cmd->add_flag("--json", o->json,
                "write the result as one JSON object: address, connections, inflight, size, "
                "duration_s, requests, errors, timeouts, requests_per_s, latency_us {p50, p90, "
                "p99, p99_9, max, mean}, interrupted");
  add_security_options(cmd, o->security);
  add_example(cmd, "netaio bench 127.0.0.1:8888 --connections 8 --duration 5 --inflight 4");
  on_run(cmd, st, [o, &st] { return run_bench(*o, st); });
}

}  // namespace netaio_cli
