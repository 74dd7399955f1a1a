// The node layer: what a netaio program is written with.
#pragma once

#include <netaio/node/peer_address.hpp>
