// request, create, update, delete: one request, one answer (issue 10). The
// answer's content goes raw to stdout and nothing else does; the exit code
// says what the answer was: 0 RESPOND_URI/OK, 1 NOT_FOUND, 2 ERROR or
// AUTH_ERROR (its content on stderr), 3 no answer in time, 4 cannot connect.
//
// A single exchange needs no client node: this runs on tcp_stream +
// framed_stream + prepare_message (net.hpp). When tcp_client
// (include/netaio/node/tcp_client.hpp, branch h/tcp) lands, these may move
// onto its request()/create()/... for free reconnects and routing, with the
// same output and exit codes.
#include "../messages.hpp"
#include "../net.hpp"
#include "../security.hpp"
#include "commands.hpp"

#include <netaio/core/deadline.hpp>
#include <netaio/io/io_context.hpp>
#include <netaio/node/send.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

namespace netaio_cli {

namespace {

struct request_options {
  std::string command;
  netaio::message_type type = netaio::message_type::request_uri;
  std::string address;
  std::string uri;
  std::string content;
  CLI::Option* content_opt = nullptr;
  double timeout = 10;
  security_options security;
};

// Reads until a message to show arrives (or the stream ends: nullopt).
netaio::task<std::optional<netaio::message>> first_answer(netaio::framed_stream& fs,
                                                          const layer_t& layer,
                                                          const netaio::logger& log) {
  for (;;) {
    received r = co_await receive_one(fs, layer, log);
    if (r.shown) co_return std::move(r.shown);
    if (r.end) co_return std::nullopt;
  }
}

netaio::task<int> request_task(netaio::io_context& io, netaio::endpoint to, netaio::message msg,
                               layer_t layer, std::chrono::nanoseconds timeout,
                               const netaio::logger& log) {
  // One deadline for the whole exchange: --timeout covers the connection
  // and the answer together.
  const auto start = std::chrono::steady_clock::now();
  std::optional<netaio::framed_stream> fs = co_await connect_framed(io, to, timeout);
  if (!fs) co_return exit_code::cannot_connect;
  log.debug(std::nullopt, "connected to ", to.to_string());
  const std::string what = describe(msg);
  std::optional<netaio::message> sealed = seal_or_say(std::move(msg), layer);
  if (!sealed) co_return exit_code::usage;  // our own options cannot seal it
  const auto left = std::max(std::chrono::nanoseconds::zero(),
                             timeout - std::chrono::duration_cast<std::chrono::nanoseconds>(
                                           std::chrono::steady_clock::now() - start));
  std::optional<std::optional<netaio::message>> answer;
  std::string io_failure;
  try {
    co_await fs->write_frame(*sealed);
    log.debug(std::nullopt, "sent ", what, " as a ", sealed->encode().size(), "-byte frame");
    answer = co_await netaio::move_on_after(left, first_answer(*fs, layer, log));
  } catch (const netaio::io_error& e) {
    io_failure = e.what();
  }
  if (!io_failure.empty()) {
    print_error("connection to " + to.to_string() + " failed: " + strip_prefix(io_failure));
    co_return exit_code::error_answer;
  }
  if (!answer) {
    char secs[32];
    std::snprintf(secs, sizeof secs, "%g", std::chrono::duration<double>(timeout).count());
    print_error(std::string("no answer from ") + to.to_string() + " within " + secs + " s");
    co_return exit_code::timeout;
  }
  if (!*answer) {
    print_error("the server " + to.to_string() + " closed the connection without answering");
    co_return exit_code::error_answer;
  }
  const netaio::message& m = **answer;
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  char took[32];
  std::snprintf(took, sizeof took, "%.1f ms", ms);
  log.info(std::nullopt, type_name(static_cast<std::uint8_t>(m.type())), " ",
           bytes_repr(m.body().uri()), " ", m.body().content().size(), " bytes in ",
           std::string_view(took));
  co_return answer_exit_code(m);
}

int run_request(const request_options& o, app_state& st) {
  const netaio::endpoint to = parse_address(o.address);
  const auto timeout = seconds(o.timeout, "--timeout");
  const layer_t layer = make_layer(o.security, st.log);
  const byte_buffer content = content_from(o.content_opt, o.content, nullptr, {});
  netaio::message msg =
      make_message(static_cast<std::uint8_t>(o.type), netaio::as_bytes(o.uri), content);
  netaio::io_context io;
  return io.run(request_task(io, to, std::move(msg), layer, timeout, st.log));
}

void add_one(CLI::App& app, app_state& st, const char* name, netaio::message_type type,
             const char* what, bool content, bool content_required, const char* example) {
  auto o = std::make_shared<request_options>();
  o->command = name;
  o->type = type;
  auto* cmd = app.add_subcommand(
      name, std::string(what) +
                " The answer's content goes raw to stdout. Exit 0 RESPOND_URI/OK, 1 NOT_FOUND, 2 "
                "ERROR/AUTH_ERROR (content on stderr), 3 timeout, 4 cannot connect.");
  cmd->add_option("ADDR", o->address, "the server, HOST:PORT")->required();
  cmd->add_option("URI", o->uri, "the uri")->required();
  if (content_required) {
    o->content_opt =
        cmd->add_option("CONTENT", o->content, "the content; - reads stdin")->required();
  } else if (content) {
    o->content_opt = cmd->add_option("--content", o->content, "content to send; - reads stdin");
  }
  cmd->add_option("--timeout", o->timeout,
                  "seconds for the whole exchange: connecting and the answer (default 10)");
  add_security_options(cmd, o->security);
  add_example(cmd, example);
  on_run(cmd, st, [o, &st] { return run_request(*o, st); });
}

}  // namespace

void add_request_commands(CLI::App& app, app_state& st) {
  using mt = netaio::message_type;
  add_one(app, st, "request", mt::request_uri, "Send REQUEST_URI for URI and print the answer.",
          true, false, "netaio request 127.0.0.1:8888 echo --content hello");
  add_one(app, st, "create", mt::create_uri, "Send CREATE_URI for URI with CONTENT.", true, true,
          "netaio create 127.0.0.1:8888 notes/1 'first note'");
  add_one(app, st, "update", mt::update_uri, "Send UPDATE_URI for URI with CONTENT.", true, true,
          "netaio update 127.0.0.1:8888 notes/1 - < note.txt");
  add_one(app, st, "delete", mt::delete_uri, "Send DELETE_URI for URI.", false, false,
          "netaio delete 127.0.0.1:8888 notes/1");
}

}  // namespace netaio_cli
