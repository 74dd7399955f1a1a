// The TCP side shared by send and the single-exchange commands: connecting
// (exit 4 when that fails), and reading one message through the security
// layer. Straight on tcp_stream + framed_stream: one exchange needs no node.
#pragma once

#include "common.hpp"
#include "messages.hpp"

#include <netaio/core/task.hpp>
#include <netaio/io/error.hpp>
#include <netaio/io/io_context.hpp>
#include <netaio/io/tcp_stream.hpp>
#include <netaio/node/framed_stream.hpp>
#include <netaio/node/log.hpp>
#include <netaio/node/send.hpp>
#include <netaio/plugins/error.hpp>
#include <netaio/plugins/layers.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace netaio_cli {

using layer_t = netaio::plugin_layer<netaio::message>;

/// An error's text without the library's "netaio: " prefix.
inline std::string strip_prefix(std::string_view what) {
  if (what.starts_with("netaio: ")) what.remove_prefix(8);
  return std::string(what);
}

/// "REQUEST_URI 'echo' with 5 bytes", for log lines.
inline std::string describe(const netaio::message& m) {
  return type_name(static_cast<std::uint8_t>(m.type())) + " " + bytes_repr(m.body().uri()) +
         " with " + std::to_string(m.body().content().size()) + " bytes";
}

/// `msg` sealed by `layer`, or nullopt after one line saying why the
/// plugins refused (a local problem: the command exits 64).
inline std::optional<netaio::message> seal_or_say(netaio::message msg, const layer_t& layer) {
  try {
    return netaio::seal_layers(std::move(msg), {}, layer, netaio::plugin_context{});
  } catch (const std::exception& e) {
    print_error("cannot seal the message with the security options given: " +
                strip_prefix(e.what()));
    return std::nullopt;
  }
}

/// A framed connection to `to`, or nullopt after printing why it failed.
inline netaio::task<std::optional<netaio::framed_stream>> connect_framed(
    netaio::io_context& io, netaio::endpoint to, std::chrono::nanoseconds timeout) {
  std::string why;
  try {
    netaio::tcp_stream s = co_await netaio::tcp_stream::connect(io, to, {.timeout = timeout});
    co_return netaio::framed_stream(std::move(s));
  } catch (const netaio::io_error& e) {
    why = e.what();
  }
  // The io layer's text starts "connect to ADDR: " already.
  std::string reason = strip_prefix(why);
  const std::string again = "connect to " + to.to_string() + ": ";
  if (reason.starts_with(again)) reason.erase(0, again.size());
  print_error("cannot connect to " + to.to_string() + ": " + reason);
  co_return std::nullopt;
}

/// What receive_one() read.
struct received {
  /// The message to show: opened through the layer, or as received when
  /// it could not be (a warning says so). Empty for a skipped bad frame.
  std::optional<netaio::message> shown;
  bool end = false;     ///< nothing more will come
  bool failed = false;  ///< a bad or cut frame was seen
};

/// Reads the next message and opens it through `layer`.
inline netaio::task<received> receive_one(netaio::framed_stream& fs, const layer_t& layer,
                                          const netaio::logger& log) {
  auto r = co_await fs.read_frame();
  switch (r.status) {
    case netaio::frame_read_status::closed:  // by this side
      co_return received{std::nullopt, true, false};
    case netaio::frame_read_status::end_of_stream:
      log.info(std::nullopt, "the server closed the connection");
      co_return received{std::nullopt, true, false};
    case netaio::frame_read_status::truncated:
      log.warning(std::nullopt, "the server closed the connection in the middle of a frame (",
                  r.size, " bytes received)");
      co_return received{std::nullopt, true, true};
    case netaio::frame_read_status::malformed:
      log.warning(std::nullopt, "malformed frame: ", r.what);
      co_return received{std::nullopt, !r.skipped(), true};
    case netaio::frame_read_status::frame:
      break;
  }
  netaio::message m = r.to_message();
  if (!layer.auth && !layer.cipher) co_return received{std::move(m)};
  std::string why;
  try {
    auto opened = netaio::open_layers(m, {}, layer);
    if (opened.message) co_return received{std::move(*opened.message)};
    why = "auth check failed";
  } catch (const std::exception& e) {
    why = "could not decrypt (" + strip_prefix(e.what()) + ")";
  }
  // Servers answer a failed auth check with an unsealed AUTH_ERROR: expected,
  // so only -v mentions it. Anything else unsealed deserves a warning.
  const auto level = m.type() == netaio::message_type::auth_error ? netaio::log_level::info
                                                                  : netaio::log_level::warning;
  log.log(level, std::nullopt, why, " for a ", type_name(static_cast<std::uint8_t>(m.type())),
          " message; shown as received");
  co_return received{std::move(m)};
}

}  // namespace netaio_cli
