// The node layer: logging, the handler registry, the receive pipeline and
// the send-side sealing that every node (TCP server, TCP client, UDP node) shares.
#pragma once

#include <netaio/node/handler.hpp>
#include <netaio/node/log.hpp>
#include <netaio/node/pipeline.hpp>
#include <netaio/node/router.hpp>
#include <netaio/node/send.hpp>
