// send: one raw message over TCP, then every message that arrives within the
// wait, one line each. Built on tcp_stream + framed_stream directly (not the
// TCP client node): it is the tool for poking at a server by hand, so it
// sends exactly what it is told and shows exactly what comes back.
#include "../messages.hpp"
#include "../net.hpp"
#include "../security.hpp"
#include "commands.hpp"

#include <netaio/core/deadline.hpp>
#include <netaio/io/io_context.hpp>
#include <netaio/node/send.hpp>

#include <memory>

namespace netaio_cli {

namespace {

struct send_options {
  std::string address;
  std::string type;
  std::string uri;
  std::string content;
  std::string content_hex;
  std::string frame;
  CLI::Option* type_opt = nullptr;
  CLI::Option* uri_opt = nullptr;
  CLI::Option* frame_opt = nullptr;
  CLI::Option* content_opt = nullptr;
  CLI::Option* content_hex_opt = nullptr;
  double wait = 1;
  double timeout = 10;
  std::size_t count = 0;
  security_options security;
};

// Prints every message until the server closes, `count` arrived (0: no
// limit) or the caller's deadline cancels the read.
netaio::task<void> print_arrivals(netaio::framed_stream& fs, const layer_t& layer,
                                  std::size_t count, const netaio::logger& log, int& status) {
  std::size_t seen = 0;
  for (;;) {
    received r = co_await receive_one(fs, layer, log);
    if (r.end) {
      if (r.failed) status = exit_code::failed;
      co_return;
    }
    if (!r.shown) continue;  // a malformed frame that was skipped
    print_line(received_line(*r.shown));
    if (count != 0 && ++seen >= count) co_return;
  }
}

netaio::task<int> send_task(netaio::io_context& io, netaio::endpoint to, netaio::message msg,
                            bool as_is, layer_t layer, std::chrono::nanoseconds connect_timeout,
                            std::chrono::nanoseconds wait, std::size_t count,
                            const netaio::logger& log) {
  std::optional<netaio::framed_stream> fs = co_await connect_framed(io, to, connect_timeout);
  if (!fs) co_return exit_code::cannot_connect;
  const std::string what = describe(msg);
  // A --frame goes as it is (already sealed, or a replay); the rest is sealed.
  std::optional<netaio::message> sealed =
      as_is ? std::optional<netaio::message>(std::move(msg)) : seal_or_say(std::move(msg), layer);
  if (!sealed) co_return exit_code::usage;  // our own options cannot seal it
  int status = exit_code::ok;
  std::string io_failure;
  try {
    co_await fs->write_frame(*sealed);
    log.info(std::nullopt, "sent ", what, " to ", to.to_string());
    co_await netaio::move_on_after(wait, print_arrivals(*fs, layer, count, log, status));
  } catch (const netaio::io_error& e) {
    io_failure = e.what();
  }
  if (!io_failure.empty()) {
    print_error("connection to " + to.to_string() + " failed: " + strip_prefix(io_failure));
    co_return exit_code::failed;
  }
  co_return status;
}

int run_send(const send_options& o, app_state& st) {
  const netaio::endpoint to = parse_address(o.address);
  const bool as_is = o.frame_opt->count() > 0;
  if (!as_is && o.type_opt->count() == 0) throw usage_error("--type is required (or --frame)");
  if (!as_is && o.uri_opt->count() == 0) throw usage_error("--uri is required (or --frame)");
  const auto wait = seconds(o.wait, "--wait");
  const auto connect_timeout = seconds(o.timeout, "--timeout");
  const layer_t layer = make_layer(o.security, st.log);
  netaio::message msg;
  if (as_is) {
    const byte_buffer frame = read_input(o.frame);
    try {
      msg = netaio::message::decode(frame);
    } catch (const netaio::wire_error& e) {
      throw usage_error("--frame " + o.frame + " is not a frame: " + wire_reason(e));
    }
  } else {
    const byte_buffer content =
        content_from(o.content_opt, o.content, o.content_hex_opt, o.content_hex);
    msg = make_message(parse_type(o.type), netaio::as_bytes(o.uri), content);
  }
  netaio::io_context io;
  return io.run(
      send_task(io, to, std::move(msg), as_is, layer, connect_timeout, wait, o.count, st.log));
}

}  // namespace

void add_send_command(CLI::App& app, app_state& st) {
  auto o = std::make_shared<send_options>();
  auto* cmd = app.add_subcommand(
      "send",
      "Send one raw message over TCP and print every message arriving within --wait as "
      "`TYPE URI CONTENT-AS-HEX` (an empty uri or content as -). Exit 4: cannot connect.");
  cmd->add_option("ADDR", o->address, "the server, HOST:PORT")->required();
  o->type_opt = cmd->add_option("--type", o->type,
                                "message type: a number or a name such as REQUEST_URI (required "
                                "unless --frame)");
  o->uri_opt = cmd->add_option("--uri", o->uri, "the uri (required unless --frame)");
  o->content_opt = cmd->add_option("--content", o->content, "the content as text; - reads stdin");
  o->content_hex_opt = cmd->add_option("--content-hex", o->content_hex, "the content as hex")
                           ->excludes(o->content_opt);
  o->frame_opt = cmd->add_option("--frame", o->frame,
                                 "send this frame FILE (- reads stdin) as it is, e.g. one made by "
                                 "`netaio encode`, unsealed by the security options (which still "
                                 "open what arrives): to replay a sealed frame")
                     ->excludes(o->type_opt)
                     ->excludes(o->uri_opt)
                     ->excludes(o->content_opt)
                     ->excludes(o->content_hex_opt);
  cmd->add_option("--wait", o->wait,
                  "seconds to print what arrives after sending (default 1; ends early when the "
                  "server closes)");
  cmd->add_option("--count", o->count, "stop after this many messages arrived (default: no limit)");
  cmd->add_option("--timeout", o->timeout, "seconds to wait for the connection (default 10)");
  add_security_options(cmd, o->security);
  add_example(cmd,
              "netaio send 127.0.0.1:8888 --type REQUEST_URI --uri echo --content hi --wait 2");
  on_run(cmd, st, [o, &st] { return run_send(*o, st); });
}

}  // namespace netaio_cli
