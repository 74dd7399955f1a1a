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

/// A wire_error's text without the library's "netaio wire: " prefix.
inline std::string wire_reason(const netaio::wire_error& e) {
  std::string_view w = e.what();
  constexpr std::string_view prefix = "netaio wire: ";
  if (w.starts_with(prefix)) w.remove_prefix(prefix.size());
  return std::string(w);
}

}  // namespace netaio_cli
