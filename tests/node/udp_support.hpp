// Helpers for the UDP node tests: loopback options with a recording logger,
// and a runner that stops the nodes whatever the test body did.
#pragma once

#include <netaio/core.hpp>
#include <netaio/io.hpp>
#include <netaio/node.hpp>

#include <array>
#include <exception>
#include <string_view>

#include "node/router_support.hpp"

namespace node_test {

/// A node on 127.0.0.1 (or `where`), multicasting over loopback, logging to `log`.
inline netaio::udp_node_options loopback(log_capture& log, std::string_view where = "127.0.0.1:0") {
  netaio::udp_node_options o;
  o.bind = netaio::endpoint::parse(where);
  if (o.bind.address().is_v4()) o.multicast_interface = netaio::ip_address::loopback();
  o.log = log.log;
  return o;
}

/// Awaits `body`, then stops every node, then rethrows what body threw.
template <class... Nodes>
netaio::task<void> then_stop(netaio::task<void> body, Nodes&... nodes) {
  std::array<netaio::udp_node*, sizeof...(Nodes)> all{&nodes...};
  std::exception_ptr failure;
  try {
    co_await std::move(body);
  } catch (...) {
    failure = std::current_exception();
  }
  for (auto* n : all)
    co_await n->stop();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace node_test
