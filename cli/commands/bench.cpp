// bench: a load generator against any netaio server's echo uri (issue 10).
//
// TODO(node layer): N tcp_client connections (include/netaio/node/
// tcp_client.hpp, branch h/tcp) with make_layer(o->security), each keeping K
// REQUEST_URI echo requests of --size bytes in flight for --duration; a live
// progress line on a terminal (isatty(1); plain lines otherwise), then
// requests per second and latency percentiles (p50, p90, p99, p99.9, max);
// --json writes the result as one JSON object instead.
#include "../security.hpp"
#include "commands.hpp"

#include <memory>

namespace netaio_cli {

namespace {
struct bench_options {
  std::string address;
  std::size_t connections = 4;
  double duration = 10;
  std::size_t inflight = 1;
  std::size_t size = 64;
  bool json = false;
  security_options security;
};
}  // namespace

void add_bench_command(CLI::App& app, app_state& st) {
  auto o = std::make_shared<bench_options>();
  auto* cmd = app.add_subcommand(
      "bench",
      "Load-test a netaio server's echo uri: requests per second and latency percentiles "
      "(p50, p90, p99, p99.9, max).");
  cmd->add_option("ADDR", o->address, "the server, HOST:PORT")->required();
  cmd->add_option("--connections", o->connections, "connections (default 4)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--duration", o->duration, "seconds to run (default 10)");
  cmd->add_option("--inflight", o->inflight, "requests in flight per connection (default 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--size", o->size, "content bytes per request (default 64)");
  cmd->add_flag("--json", o->json, "write the result as JSON");
  add_security_options(cmd, o->security);
  add_example(cmd, "netaio bench 127.0.0.1:8888 --connections 8 --duration 5 --inflight 4");
  on_run(cmd, st, [o, &st] {
    parse_address(o->address);
    seconds(o->duration, "--duration");
    make_layer(o->security, st.log);
    return needs_node_layer("bench");
  });
}

}  // namespace netaio_cli
