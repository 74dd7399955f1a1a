// subscribe: follows a uri on a server and prints each notification's
// content, one per line, until --count arrived or a signal came; then
// unsubscribes and exits 0.
#include "../security.hpp"
#include "commands.hpp"

#include <netaio/io/signal_set.hpp>
#include <netaio/node/tcp_client.hpp>

#include <csignal>
#include <cstdio>
#include <memory>

namespace netaio_cli {

namespace {

using namespace netaio;
using namespace std::chrono_literals;

struct subscribe_options {
  std::string address;
  std::string uri;
  std::size_t count = 0;
  double timeout = 10;
  security_options security;
};

int run_subscribe(const subscribe_options& o, app_state& st) {
  const endpoint at = parse_address(o.address);
  auto layer = make_layer(o.security, st.log);
  const auto limit = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(o.timeout));
  io_context io;
  signal_set signals(io, {SIGINT, SIGTERM});
  tcp_client client(io, {.server = at, .connect_timeout = limit, .request_timeout = limit});
  client.set_logger(st.log);
  client.set_plugins(std::move(layer));
  async_event done;
  std::size_t seen = 0;
  client.on(handler_key::of(message_type::notify_uri, o.uri), [&](message& m) {
    const auto content = m.body().content();
    std::fwrite(content.data(), 1, content.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    if (o.count != 0 && ++seen >= o.count) done.set();
  });
  auto body = [&]() -> task<int> {
    int code = exit_code::ok;
    try {
      co_await client.connect();
    } catch (const std::exception& e) {
      print_error(e.what());
      code = exit_code::cannot_connect;
    }
    if (code != exit_code::ok) {
      co_await client.stop();
      co_return code;
    }
    try {
      message m = co_await client.subscribe(as_bytes(o.uri));
      if (m.type() != message_type::confirm_subscribe) {
        print_error(std::string("subscribe answered ") + std::string(to_string(m.type())));
        code = m.type() == message_type::not_found ? exit_code::failed : exit_code::error_answer;
      } else {
        // Until enough notifications, a signal, or the server going away.
        co_await with_scope([&](task_scope& s) -> task<void> {
          s.spawn([&]() -> task<void> {
            (void)co_await signals.wait();
            done.set();
          });
          s.spawn([&]() -> task<void> {
            while (client.connected())
              co_await sleep_for(100ms);
            done.set();
          });
          co_await done.wait();
          s.cancel();
        });
        if (client.connected()) (void)co_await client.unsubscribe(as_bytes(o.uri));
      }
    } catch (const timed_out&) {
      print_error("no answer in time");
      code = exit_code::timeout;
    } catch (const authentication_failed& e) {
      print_error(e.what());
      code = exit_code::error_answer;
    } catch (const io_error& e) {
      print_error(e.what());
      code = exit_code::failed;
    }
    co_await client.stop();
    co_return code;
  };
  return io.run(body());
}

}  // namespace

void add_subscribe_command(CLI::App& app, app_state& st) {
  auto o = std::make_shared<subscribe_options>();
  auto* cmd = app.add_subcommand(
      "subscribe",
      "Subscribe to URI and print each notification's content, one per line, until --count "
      "arrived or interrupted (then unsubscribe and exit 0).");
  cmd->add_option("ADDR", o->address, "the server, HOST:PORT")->required();
  cmd->add_option("URI", o->uri, "the uri to follow")->required();
  cmd->add_option("--count", o->count, "stop after this many notifications (default: no limit)");
  cmd->add_option("--timeout", o->timeout, "seconds to connect and for each answer (default 10)")
      ->check(CLI::PositiveNumber);
  add_security_options(cmd, o->security);
  add_example(cmd, "netaio subscribe 127.0.0.1:8888 news --count 3");
  on_run(cmd, st, [o, &st] { return run_subscribe(*o, st); });
}

}  // namespace netaio_cli
