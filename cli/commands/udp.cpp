// udp and udp-request (issue 10), on the UDP node (node/udp_node.hpp).
//
// udp: binds --listen, answers REQUEST_URI with RESPOND_URI echoing the
//   content, prints "listening on HOST:PORT"; with --advertise it manages
//   peers as the reference's manage_peers_automatically(advertise_every,
//   app_id, peer_timeout) does, advertising to --multicast and by unicast to
//   each --peer, and prints "peer ID-HEX HOST:PORT" on discovery and
//   "gone ID-HEX" when a peer expires or says DISCONNECT. SIGINT/SIGTERM stop
//   it as serve: the node's bounded stop (DISCONNECT to its peers), a second
//   signal at once; exit 0.
// udp-request: one REQUEST_URI datagram from an ephemeral port; the answer's
//   content raw on stdout and the exit code of request (0/1/2/3). UDP has no
//   connection to fail: 4 means the datagram could not be sent at all (no
//   route, an address of the wrong family); a node that is not there is a
//   timeout (3).
#include "../messages.hpp"
#include "../net.hpp"
#include "../security.hpp"
#include "../stop_on_signal.hpp"
#include "commands.hpp"

#include <netaio/core/task_scope.hpp>
#include <netaio/core/with_scope.hpp>
#include <netaio/io/address.hpp>
#include <netaio/io/error.hpp>
#include <netaio/io/signal_set.hpp>
#include <netaio/node/udp_node.hpp>
#include <netaio/plugins/peer_plugin.hpp>

#include <csignal>
#include <cstdio>
#include <memory>
#include <random>
#include <vector>

namespace netaio_cli {

namespace {

using namespace netaio;
using namespace std::chrono_literals;

struct udp_options {
  std::string listen = "0.0.0.0:8888";
  std::vector<std::string> peers;
  std::string multicast = "224.0.0.1";
  unsigned advertise = 0;
  std::string app_id = "netaio";
  unsigned peer_timeout = 60;
  double grace = 5;
  CLI::Option* advertise_opt = nullptr;
  CLI::Option* multicast_opt = nullptr;
  security_options security;
};

struct udp_request_options {
  std::string address;
  std::string uri;
  std::string content;
  CLI::Option* content_opt = nullptr;
  double timeout = 10;
  security_options security;
};

// "HOST:PORT" of a peer address (IPv6 in brackets).
std::string address_text(const peer_address& a) {
  if (const auto ep = try_to_endpoint(a)) return ep->to_string();
  return a.first + ":" + std::to_string(a.second);
}

// A random 16-byte id, as the reference's os.urandom(16).
byte_buffer random_id() {
  std::random_device rd;
  byte_buffer id(16);
  for (auto& b : id)
    b = static_cast<std::uint8_t>(rd());
  return id;
}

// The node's options for `bind`: multicast over the bind address's interface
// (as the reference does) when it is a specific IPv4 address, loopback
// included (where lo lacks IFF_MULTICAST).
udp_node_options node_options(const endpoint& bind, const app_state& st) {
  udp_node_options o;
  o.bind = bind;
  if (bind.address().is_v4() && bind.address() != ip_address::any())
    o.multicast_interface = bind.address();
  o.log = st.log;
  return o;
}

int run_udp(const udp_options& o, app_state& st) {
  const endpoint at = parse_address(o.listen, "--listen");
  std::vector<endpoint> peers;
  for (const auto& p : o.peers)
    peers.push_back(parse_address(p, "--peer"));
  const auto group = ip_address::try_parse(o.multicast);
  if (!group) throw usage_error("bad --multicast '" + o.multicast + "': not an IP address");
  if (group->is_v4() != at.address().is_v4())
    throw usage_error("--multicast " + o.multicast + " is not of --listen's address family");
  const bool advertise = o.advertise_opt->count() > 0;
  auto layer = make_layer(o.security, st.log);
  const auto grace =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(o.grace));

  udp_node_options opts = node_options(at, st);
  if (o.multicast_opt->count() > 0 || at.address().is_v4()) opts.multicast_group = *group;
  opts.plugins = std::move(layer);
  peer me;
  me.id = random_id();
  me.data = default_peer_plugin().encode_data(packify::value::dict({}));
  opts.local_peer = me;

  io_context io;
  // Blocked before the node exists, so no signal can kill the process
  // between "listening" and the wait (as serve).
  keep_stop_signals_blocked();
  signal_set signals(io, {SIGINT, SIGTERM});
  auto body = [&]() -> task<int> {
    udp_node node(io, std::move(opts));
    node.on(handler_key::of(message_type::request_uri),
            [](message& m) { return make_respond_uri_msg(m.body().content(), m.body().uri()); });
    bool stopping = false;
    // Discoveries and departures as lines; none for the node's own stop,
    // which forgets every peer.
    node.peers().on_event([&](peer_event e, const peer& p) {
      if (stopping || !p.id) return;
      if (e == peer_event::added) {
        print_line("peer " + to_hex(*p.id) + " " +
                   (p.addrs.empty() ? std::string("-") : address_text(*p.addrs.begin())));
      } else {
        print_line("gone " + to_hex(*p.id));
      }
    });
    std::string failure;
    try {
      node.start();
    } catch (const io_error& e) {
      failure = e.what();
    }
    if (!failure.empty()) {
      print_error("cannot listen on " + at.to_string() + ": " + strip_prefix(failure));
      co_await node.stop(0s);
      co_return exit_code::cannot_connect;
    }
    print_line("listening on " + node.local_endpoint().to_string());
    if (advertise) {
      udp_node::peer_management_options pm;
      pm.advertise_every = std::chrono::seconds(o.advertise);
      pm.app_id = o.app_id;
      pm.peer_timeout = std::chrono::seconds(o.peer_timeout);
      pm.grace = 0s;  // the reference's: a silent peer goes at the first round past its timeout
      pm.advertise_to = peers;
      node.manage_peers_automatically(pm);
    }
    co_await stop_on_signal(signals, node, grace, st.log, [&] { stopping = true; });
    co_return exit_code::ok;
  };
  return io.run(body());
}

int run_udp_request(const udp_request_options& o, app_state& st) {
  const endpoint to = parse_address(o.address);
  const auto timeout = seconds(o.timeout, "--timeout");
  auto layer = make_layer(o.security, st.log);
  const byte_buffer content = content_from(o.content_opt, o.content, nullptr, {});
  (void)make_message(static_cast<std::uint8_t>(message_type::request_uri), as_bytes(o.uri),
                     content);  // usage_error if it cannot fit a frame
  udp_node_options opts = node_options(
      endpoint{to.address().is_v4() ? ip_address::any() : ip_address::any(ip_family::v6), 0}, st);
  opts.join_multicast = false;
  opts.plugins = std::move(layer);
  const bool has_auth = static_cast<bool>(opts.plugins.auth);

  io_context io;
  auto body = [&]() -> task<int> {
    udp_node node(io, std::move(opts));
    // The node answers nothing: a datagram that is not our answer is dropped.
    node.router().set_default_handler([](message&) {});
    // A node refusing our seal answers an unsealed AUTH_ERROR, which fails
    // our own check: catch it here rather than wait for the timeout.
    std::optional<std::string> refused;
    async_event refused_event;
    auto note_refusal = [&](const message& m) {
      if (refused) return;
      refused = std::string(reinterpret_cast<const char*>(m.body().content().data()),
                            m.body().content().size());
      refused_event.set();
    };
    // Without auth of our own, an AUTH_ERROR (uri "ERROR") is an ordinary
    // message: it answers no request key, so it is caught by its type.
    node.on(handler_key::of(message_type::auth_error),
            [note_refusal](message& m) { note_refusal(m); });
    if (has_auth) {
      node.router().set_auth_error_handler(
          [&](const message& m, const any_auth_plugin<message>&) -> std::optional<message> {
            if (m.type() == message_type::auth_error) note_refusal(m);
            return std::nullopt;
          });
    }
    std::string failure;
    try {
      node.start();
    } catch (const io_error& e) {
      failure = e.what();
    }
    if (!failure.empty()) {
      print_error("cannot open a UDP socket: " + strip_prefix(failure));
      co_await node.stop(0s);
      co_return exit_code::cannot_connect;
    }
    const auto start = std::chrono::steady_clock::now();
    std::optional<message> answer;
    int code = -1;
    // The request and the watch for an AUTH_ERROR as children: the first
    // to end cancels the other.
    co_await with_scope([&](task_scope& s) -> task<void> {
      s.spawn(
          [&]() -> task<void> {
            (void)co_await refused_event.wait();
            s.cancel();
          },
          "auth error");
      s.spawn(
          [&]() -> task<void> {
            udp_node::request_options ro;
            ro.timeout = timeout;
            ro.content = content;
            std::string why;
            try {
              answer = co_await node.request(o.uri, to, std::move(ro));
            } catch (const timed_out&) {
              char secs[32];
              std::snprintf(secs, sizeof secs, "%g",
                            std::chrono::duration<double>(timeout).count());
              why = std::string("no answer from ") + to.to_string() + " within " + secs + " s";
              code = exit_code::timeout;
            } catch (const io_error& e) {
              why = "cannot send to " + to.to_string() + ": " + strip_prefix(e.what());
              code = exit_code::cannot_connect;
            }
            if (!why.empty()) print_error(why);
            s.cancel();
          },
          "request");
      co_return;
    });
    co_await node.stop(1s);
    if (refused && !answer && code < 0) {
      print_error("AUTH_ERROR: " + *refused);
      co_return exit_code::error_answer;
    }
    if (!answer) co_return code < 0 ? exit_code::failed : code;
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    char took[32];
    std::snprintf(took, sizeof took, "%.1f ms", ms);
    st.log.info(std::nullopt, type_name(static_cast<std::uint8_t>(answer->type())), " ",
                bytes_repr(answer->body().uri()), " ", answer->body().content().size(),
                " bytes in ", std::string_view(took));
    co_return answer_exit_code(*answer);
  };
  return io.run(body());
}

}  // namespace

void add_udp_commands(CLI::App& app, app_state& st) {
  {
    auto o = std::make_shared<udp_options>();
    auto* cmd = app.add_subcommand(
        "udp",
        "Run a UDP node answering REQUEST_URI with RESPOND_URI (echoing the content). Prints "
        "`listening on HOST:PORT`; with --advertise it manages peers as the reference does, "
        "printing `peer ID-HEX HOST:PORT` on discovery and `gone ID-HEX` when one expires or "
        "leaves. SIGINT/SIGTERM stop it (a second one at once); exit 0, or 4 if it cannot bind.");
    cmd->add_option("--listen", o->listen,
                    "HOST:PORT to bind (default 0.0.0.0:8888; port 0 picks a free one)");
    cmd->add_option("--peer", o->peers,
                    "HOST:PORT to advertise to by unicast (repeatable; multicast does not cross "
                    "ports on one host)");
    o->multicast_opt =
        cmd->add_option("--multicast", o->multicast,
                        "multicast group to advertise to and join (default 224.0.0.1)");
    o->advertise_opt = cmd->add_option("--advertise", o->advertise,
                                       "advertise every SECONDS (whole, at least 1) and manage "
                                       "peers")
                           ->check(CLI::Range(1u, 86400u));
    cmd->add_option("--app-id", o->app_id, "application id of the advertisements (default netaio)")
        ->needs(o->advertise_opt);
    cmd->add_option("--peer-timeout", o->peer_timeout,
                    "forget a peer silent for more than SECONDS (whole; default 60)")
        ->check(CLI::Range(1u, 86400u))
        ->needs(o->advertise_opt);
    cmd->add_option("--grace", o->grace,
                    "seconds a stop waits for handlers before ending them (default 5)")
        ->check(CLI::NonNegativeNumber);
    add_security_options(cmd, o->security);
    add_example(cmd,
                "netaio udp --listen 127.0.0.1:9999 --advertise 5 --app-id demo "
                "--peer 127.0.0.1:9998");
    on_run(cmd, st, [o, &st] { return run_udp(*o, st); });
  }
  {
    auto o = std::make_shared<udp_request_options>();
    auto* cmd = app.add_subcommand(
        "udp-request",
        "Send one REQUEST_URI datagram and write the answer's content raw to stdout. Exit 0 "
        "RESPOND_URI/OK, 1 NOT_FOUND, 2 ERROR/AUTH_ERROR (content on stderr), 3 no answer in "
        "time (also when nothing listens: UDP cannot tell), 4 the datagram could not be sent.");
    cmd->add_option("ADDR", o->address, "the node, HOST:PORT")->required();
    cmd->add_option("URI", o->uri, "the uri")->required();
    o->content_opt = cmd->add_option("CONTENT", o->content, "the content; - reads stdin");
    cmd->add_option("--timeout", o->timeout, "seconds to wait for the answer (default 10)");
    add_security_options(cmd, o->security);
    add_example(cmd, "netaio udp-request 127.0.0.1:8888 echo hello");
    on_run(cmd, st, [o, &st] { return run_udp_request(*o, st); });
  }
}

}  // namespace netaio_cli
