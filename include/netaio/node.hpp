// The node layer: what a netaio program is written with. Logging, the
// handler registry, the receive pipeline, send-side sealing, the peer table,
// framed streams and peer addresses, shared by every node (TCP server, TCP
// client, UDP node); the TCP server and client.
#pragma once

#include <netaio/node/auto_reconnect.hpp>
#include <netaio/node/connection.hpp>
#include <netaio/node/framed_stream.hpp>
#include <netaio/node/handler.hpp>
#include <netaio/node/log.hpp>
#include <netaio/node/node_peers.hpp>
#include <netaio/node/peer_address.hpp>
#include <netaio/node/peer_messages.hpp>
#include <netaio/node/peers.hpp>
#include <netaio/node/pipeline.hpp>
#include <netaio/node/router.hpp>
#include <netaio/node/send.hpp>
#include <netaio/node/tcp_client.hpp>
#include <netaio/node/tcp_server.hpp>
#include <netaio/node/timeout.hpp>
#include <netaio/node/udp_node.hpp>
