// udp and udp-request: a UDP node, and one REQUEST_URI datagram (issue 10).
//
// TODO(node layer): both on udp_node (include/netaio/node/udp_node.hpp,
// branch h/udp) with make_layer(o->security) as its plugins.
//   udp: bind --listen, answer REQUEST_URI with RESPOND_URI echoing the
//     content, print "listening on HOST:PORT"; with --advertise, manage peers
//     as the reference's manage_peers_automatically(advertise_every, app_id,
//     peer_timeout), advertising to --multicast and by unicast to each
//     --peer, printing "peer ID-HEX HOST:PORT" on discovery and "gone ID-HEX"
//     on expiry; stop on SIGINT/SIGTERM (netaio::signal_set) as serve does.
//   udp-request: send one REQUEST_URI datagram, print the answer's content
//     raw and exit as request does (0/1/2/3, 64).
#include "../security.hpp"
#include "commands.hpp"

#include <netaio/io/address.hpp>
#include <netaio/io/error.hpp>

#include <memory>
#include <vector>

namespace netaio_cli {

namespace {
struct udp_options {
  std::string listen = "0.0.0.0:8888";
  std::vector<std::string> peers;
  std::string multicast = "224.0.0.1";
  double advertise = 0;
  std::string app_id = "netaio";
  double peer_timeout = 60;
  CLI::Option* advertise_opt = nullptr;
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
}  // namespace

void add_udp_commands(CLI::App& app, app_state& st) {
  {
    auto o = std::make_shared<udp_options>();
    auto* cmd = app.add_subcommand(
        "udp",
        "Run a UDP node answering REQUEST_URI with RESPOND_URI (echoing the content). With "
        "--advertise it manages peers as the reference does, printing `peer ID-HEX HOST:PORT` "
        "and `gone ID-HEX`.");
    cmd->add_option("--listen", o->listen, "HOST:PORT to bind (default 0.0.0.0:8888)");
    cmd->add_option("--peer", o->peers,
                    "HOST:PORT to advertise to by unicast (repeatable; multicast does not cross "
                    "ports on one host)");
    cmd->add_option("--multicast", o->multicast, "multicast group (default 224.0.0.1)");
    o->advertise_opt =
        cmd->add_option("--advertise", o->advertise, "advertise every SECONDS and manage peers");
    cmd->add_option("--app-id", o->app_id, "application id of the advertisements (default netaio)")
        ->needs(o->advertise_opt);
    cmd->add_option("--peer-timeout", o->peer_timeout,
                    "forget a peer silent for SECONDS (default 60)")
        ->needs(o->advertise_opt);
    add_security_options(cmd, o->security);
    add_example(cmd,
                "netaio udp --listen 0.0.0.0:9999 --advertise 5 --app-id demo "
                "--peer 127.0.0.1:9998");
    on_run(cmd, st, [o, &st] {
      parse_address(o->listen, "--listen");
      for (const auto& p : o->peers)
        parse_address(p, "--peer");
      if (!netaio::ip_address::try_parse(o->multicast)) {
        throw usage_error("bad --multicast '" + o->multicast + "': not an IP address");
      }
      if (o->advertise_opt->count() > 0) {
        seconds(o->advertise, "--advertise");
        seconds(o->peer_timeout, "--peer-timeout");
      }
      make_layer(o->security, st.log);
      return needs_node_layer("udp");
    });
  }
  {
    auto o = std::make_shared<udp_request_options>();
    auto* cmd = app.add_subcommand(
        "udp-request",
        "Send one REQUEST_URI datagram and write the answer's content to stdout, exiting as "
        "request does.");
    cmd->add_option("ADDR", o->address, "the node, HOST:PORT")->required();
    cmd->add_option("URI", o->uri, "the uri")->required();
    o->content_opt = cmd->add_option("CONTENT", o->content, "the content; - reads stdin");
    cmd->add_option("--timeout", o->timeout, "seconds to wait for the answer (default 10)");
    add_security_options(cmd, o->security);
    add_example(cmd, "netaio udp-request 127.0.0.1:8888 echo hello");
    on_run(cmd, st, [o, &st] {
      parse_address(o->address);
      seconds(o->timeout, "--timeout");
      make_layer(o->security, st.log);
      return needs_node_layer("udp-request");
    });
  }
}

}  // namespace netaio_cli
