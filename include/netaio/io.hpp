// The io layer: io_context (the reactor loop), addresses, TCP and UDP sockets,
// signals (signal_set, where the platform has it).
#pragma once

#include <netaio/io/address.hpp>
#include <netaio/io/error.hpp>
#include <netaio/io/io_context.hpp>
#include <netaio/io/signal_set.hpp>
#include <netaio/io/tcp_listener.hpp>
#include <netaio/io/tcp_stream.hpp>
#include <netaio/io/udp_socket.hpp>
