// The node layer: logging, the handler registry, the receive pipeline, the
// send-side sealing and the peer table that every node (TCP server, TCP
// client, UDP node) shares.
#pragma once

#include <netaio/node/handler.hpp>
#include <netaio/node/log.hpp>
#include <netaio/node/peer_messages.hpp>
#include <netaio/node/peers.hpp>
#include <netaio/node/pipeline.hpp>
#include <netaio/node/router.hpp>
#include <netaio/node/send.hpp>
