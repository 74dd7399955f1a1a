// Helpers for the router and pipeline tests: a connection type, messages by
// type/uri/content, and a logger that records what it is told.
#pragma once

#include <netaio/node.hpp>
#include <netaio/wire.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace node_test {

/// What the tests' handlers get as their connection.
struct conn {
  int id = 0;
};

using router = netaio::basic_router<netaio::message, conn>;
using pipeline = netaio::basic_pipeline<router>;
using netaio::handler_key;
using netaio::message;
using netaio::message_type;

inline message make(message_type t, std::string_view uri, std::string_view content = "") {
  return message::prepare(netaio::body::prepare(netaio::as_bytes(content), netaio::as_bytes(uri)),
                          t);
}
inline std::string text(netaio::byte_view b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline std::string content_of(const message& m) {
  return text(m.body().content());
}
inline std::string uri_of(const message& m) {
  return text(m.body().uri());
}

struct record {
  netaio::log_level level;
  std::string text;
  std::optional<netaio::peer_address> peer;
};

/// A logger at debug whose records are kept in `records`.
struct log_capture {
  std::vector<record> records;
  netaio::logger log{[this](netaio::log_level l, std::string_view t,
                            const std::optional<netaio::peer_address>& p) {
                       records.push_back({l, std::string(t), p});
                     },
                     netaio::log_level::debug};

  log_capture() = default;
  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;

  /// Records at `l` (and their count).
  std::vector<record> at(netaio::log_level l) const {
    std::vector<record> out;
    for (const auto& r : records)
      if (r.level == l) out.push_back(r);
    return out;
  }
  /// Whether a record at `l` contains `part`.
  bool has(netaio::log_level l, std::string_view part) const {
    for (const auto& r : records)
      if (r.level == l && r.text.find(part) != std::string::npos) return true;
    return false;
  }
};

}  // namespace node_test
