// Helpers for the TCP node tests: a loop per test with descriptor and task
// frame leak checks, messages by type/uri/content, and the reference README's
// CRUD server handlers.
#pragma once

#include <doctest/doctest.h>
#include <netaio/core.hpp>
#include <netaio/io.hpp>
#include <netaio/node.hpp>
#include <netaio/plugins.hpp>
#include <netaio/wire.hpp>

#include "support/fd_count.hpp"

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tcp_test {

using namespace netaio;
using namespace std::chrono_literals;

/// Runs `body(io)` on a fresh virtual-time io_context; afterwards no
/// descriptor, registration, pending operation or task frame is left.
template <class Body>
void run_io(Body body) {
  test::fd_baseline fds;
  const long frames = live_task_frames();
  {
    io_context io({.virtual_time = true});
    io.run(body(io));
    CHECK(io.pending_operations() == 0);
    CHECK(io.registered_descriptors() == 0);
  }
  CHECK(fds.delta() == 0);
  CHECK(live_task_frames() == frames);
}

inline message make(message_type t, std::string_view uri, std::string_view content = "") {
  return message::prepare(body::prepare(as_bytes(content), as_bytes(uri)), t);
}
inline std::string text(byte_view b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline std::string content_of(const message& m) {
  return text(m.body().content());
}
inline std::string uri_of(const message& m) {
  return text(m.body().uri());
}

/// Waits (polling every 1 ms of the loop's clock) until `done()` holds;
/// false, with a message naming `what`, if it still does not after `limit`
/// of the loop's clock: a condition that never holds fails the test instead
/// of hanging it until the test runner's timeout.
template <class Pred>
task<bool> eventually(Pred done, std::string_view what,
                      std::chrono::nanoseconds limit = std::chrono::minutes(1)) {
  task_context& ctx = co_await this_context();
  event_loop& loop = *ctx.loop;
  const auto deadline = loop.now() + limit;
  while (!done()) {
    if (loop.now() >= deadline) {
      MESSAGE("still not true after the limit: ", what);
      co_return false;
    }
    co_await sleep_for(std::chrono::milliseconds(1));
  }
  co_return true;
}

/// Server options on 127.0.0.1, a port the kernel picks.
inline tcp_server_options local_server() {
  tcp_server_options o;
  o.at = endpoint::parse("127.0.0.1:0");
  return o;
}
inline tcp_client_options client_for(const endpoint& server) {
  tcp_client_options o;
  o.server = server;
  return o;
}

/// The reference README's server: echo on REQUEST_URI "echo", a key-value
/// store on CREATE/REQUEST/UPDATE/DELETE, subscribe/unsubscribe.
inline void install_crud(tcp_server& s, std::shared_ptr<std::map<std::string, std::string>> db,
                         const plugin_layer<message>& inner = {}) {
  s.on(
      handler_key::of(message_type::request_uri, "echo"),
      [](message& m) { return make_respond_uri_msg<message>(m.body().content(), m.body().uri()); },
      inner);
  s.on(
      handler_key::of(message_type::create_uri),
      [db](message& m) -> message {
        const std::string uri = uri_of(m);
        if (db->contains(uri)) return make_error_msg<message>("already exists", m.body().uri());
        (*db)[uri] = content_of(m);
        return make_ok_msg<message>({}, m.body().uri());
      },
      inner);
  s.on(
      handler_key::of(message_type::request_uri),
      [db](message& m) -> message {
        const auto it = db->find(uri_of(m));
        if (it == db->end()) return make_not_found_msg<message>("not found", m.body().uri());
        return make_respond_uri_msg<message>(as_bytes(it->second), m.body().uri());
      },
      inner);
  s.on(
      handler_key::of(message_type::update_uri),
      [db](message& m) -> message {
        const auto it = db->find(uri_of(m));
        if (it == db->end()) return make_not_found_msg<message>("not found", m.body().uri());
        it->second = content_of(m);
        return make_ok_msg<message>({}, m.body().uri());
      },
      inner);
  s.on(
      handler_key::of(message_type::delete_uri),
      [db](message& m) -> message {
        if (db->erase(uri_of(m)) == 0)
          return make_not_found_msg<message>("not found", m.body().uri());
        return make_ok_msg<message>({}, m.body().uri());
      },
      inner);
  s.on(
      handler_key::of(message_type::subscribe_uri),
      [&s](message& m, tcp_connection& c) {
        s.subscribe(m.body().uri(), c);
        return message::prepare(body::prepare({}, m.body().uri()), message_type::confirm_subscribe);
      },
      inner);
  s.on(
      handler_key::of(message_type::unsubscribe_uri),
      [&s](message& m, tcp_connection& c) {
        s.unsubscribe(m.body().uri(), c);
        return message::prepare(body::prepare({}, m.body().uri()),
                                message_type::confirm_unsubscribe);
      },
      inner);
}

/// A logger that keeps what it is told (debug and above).
struct log_capture {
  struct record {
    log_level level;
    std::string text;
    std::optional<peer_address> peer;
  };
  std::shared_ptr<std::vector<record>> records = std::make_shared<std::vector<record>>();
  logger make() const {
    return logger(
        [r = records](log_level l, std::string_view t, const std::optional<peer_address>& p) {
          r->push_back({l, std::string(t), p});
        },
        log_level::debug);
  }
  bool contains(std::string_view needle) const {
    for (const auto& r : *records)
      if (r.text.find(needle) != std::string::npos) return true;
    return false;
  }
};

}  // namespace tcp_test
