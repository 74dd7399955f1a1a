// Building the message a command sends and showing the ones it receives.
#pragma once

#include "common.hpp"

#include <netaio/wire/body.hpp>
#include <netaio/wire/message.hpp>
#include <netaio/wire/wire_error.hpp>

#include <string>
#include <string_view>

namespace netaio_cli {

/// A message of type `type` (any number: a custom type is sent as is) with
/// `uri` and `content`; usage_error when they do not fit a frame.
inline netaio::message make_message(std::uint8_t type, byte_view uri, byte_view content) {
  try {
    return netaio::message::prepare(netaio::body::prepare(content, uri),
                                    static_cast<netaio::message_type>(type));
  } catch (const netaio::wire_error& e) {
    throw usage_error("the message does not fit a frame: " + std::string(e.what()));
  }
}

/// "TYPE URI CONTENT-AS-HEX" (issue 10's line for each message received).
inline std::string received_line(const netaio::message& m) {
  std::string content = to_hex(m.body().content());
  if (content.empty()) content = "-";
  return type_name(static_cast<std::uint8_t>(m.type())) + ' ' + field_text(m.body().uri()) + ' ' +
         content;
}

/// What request, create, update, delete and udp-request do with the answer:
/// RESPOND_URI/OK → its content raw on stdout, exit 0; NOT_FOUND → exit 1,
/// ERROR or AUTH_ERROR (or anything else) → exit 2, its content on stderr.
inline int answer_exit_code(const netaio::message& answer) {
  using mt = netaio::message_type;
  const std::string text(reinterpret_cast<const char*>(answer.body().content().data()),
                         answer.body().content().size());
  const std::string name = type_name(static_cast<std::uint8_t>(answer.type()));
  switch (answer.type()) {
    case mt::respond_uri:
    case mt::ok:
      write_out(answer.body().content());
      return exit_code::ok;
    case mt::not_found:
      print_error(name + ": " + text);
      return exit_code::failed;
    case mt::error:
    case mt::auth_error:
      print_error(name + ": " + text);
      return exit_code::error_answer;
    default:
      print_error("unexpected answer " + name + ": " + text);
      return exit_code::error_answer;
  }
}

/// A wire_error's text without the library's "netaio wire: " prefix.
inline std::string wire_reason(const netaio::wire_error& e) {
  std::string_view w = e.what();
  constexpr std::string_view prefix = "netaio wire: ";
  if (w.starts_with(prefix)) w.remove_prefix(prefix.size());
  return std::string(w);
}

}  // namespace netaio_cli
