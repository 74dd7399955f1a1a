// subscribe: follows a uri on a server and prints each notification's
// content, one per line, until --count arrived or a signal came; then
// unsubscribes and exits 0.
#include "../security.hpp"
#include "../stop_on_signal.hpp"
#include "commands.hpp"

#include <netaio/core/with_scope.hpp>
#include <netaio/io/signal_set.hpp>
#include <netaio/node/tcp_client.hpp>

#include <algorithm>
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
  keep_stop_signals_blocked();
  signal_set signals(io, {SIGINT, SIGTERM});
  tcp_client client(io, {.server = at, .connect_timeout = limit, .request_timeout = limit});
  client.set_logger(st.log);
  client.set_plugins(std::move(layer));
  std::size_t seen = 0;
  bool subscribed = false;
  bool interrupted = false;
  async_event done;
  // A notification of our uri: one line. Those that come while no
  // receive_once() waits go to the handler; the others to the loop below.
  auto print_note = [&](const message& m) {
    if (m.type() != message_type::notify_uri ||
        !std::ranges::equal(m.body().uri(), as_bytes(o.uri)))
      return;
    const auto content = m.body().content();
    std::fwrite(content.data(), 1, content.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    if (o.count != 0 && ++seen >= o.count) done.set();
  };
  client.on(handler_key::of(message_type::notify_uri, o.uri), [&](message& m) { print_note(m); });

  // The session: connect, subscribe, follow until enough notifications, a
  // signal or the server going away, then unsubscribe.
  auto session = [&]() -> task<int> {
    try {
      co_await client.connect();
    } catch (const std::exception& e) {
      print_error(e.what());
      co_return exit_code::cannot_connect;
    }
    int code = exit_code::ok;
    try {
      message m = co_await client.subscribe(as_bytes(o.uri));
      if (m.type() != message_type::confirm_subscribe) {
        print_error(std::string("subscribe answered ") + std::string(to_string(m.type())));
        co_return m.type() == message_type::not_found ? exit_code::failed : exit_code::error_answer;
      }
      subscribed = true;
      if (interrupted) done.set();  // a signal came while subscribing
      co_await with_scope([&](task_scope& s) -> task<void> {
        // Messages that answer no request; the connection closing ends it
        // (no polling: receive_once throws io_error then).
        s.spawn(
            [&]() -> task<void> {
              for (;;) {
                try {
                  print_note(co_await client.receive_once({.timeout = std::chrono::hours(1)}));
                } catch (const timed_out&) {
                  continue;
                } catch (const io_error&) {
                  break;
                }
              }
              done.set();
            },
            "receive");
        co_await done.wait();
        s.cancel();
      });
      if (client.connected()) (void)co_await client.unsubscribe(as_bytes(o.uri));
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
    co_return code;
  };

  auto body = [&]() -> task<int> {
    int code = exit_code::ok;
    co_await with_scope([&](task_scope& s) -> task<void> {
      // A signal: once subscribed, end the follow (which unsubscribes);
      // before that, abandon the connect or subscribe at once (exit 0).
      s.spawn(
          [&]() -> task<void> {
            (void)co_await signals.wait();
            interrupted = true;
            if (subscribed) {
              done.set();
            } else {
              s.cancel();
            }
          },
          "signals");
      s.spawn(
          [&]() -> task<void> {
            code = co_await session();
            s.cancel();
          },
          "session");
      co_return;
    });
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
