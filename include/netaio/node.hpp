// The node layer: what a netaio program is written with. Logging, the
// handler registry, the receive pipeline, send-side sealing, the peer table,
// framed streams and peer addresses, shared by every node (TCP server, TCP
// client, UDP node).
#pragma once

#include <netaio/node/framed_stream.hpp>
#include <netaio/node/handler.hpp>
#include <netaio/node/log.hpp>
#include <netaio/node/peer_address.hpp>
#include <netaio/node/peer_messages.hpp>
#include <netaio/node/peers.hpp>
#include <netaio/node/pipeline.hpp>
#include <netaio/node/router.hpp>
#include <netaio/node/send.hpp>
#include <netaio/node/timeout.hpp>
#include <netaio/node/udp_node.hpp>
