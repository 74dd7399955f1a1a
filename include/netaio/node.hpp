// The node layer: what a netaio program is written with.
#pragma once

#include <netaio/node/framed_stream.hpp>
#include <netaio/node/peer_address.hpp>
