// The plugins layer: auth, cipher and peer plugins, and the bundled ones.
#pragma once

#include <netaio/plugins/box.hpp>
#include <netaio/plugins/context.hpp>
#include <netaio/plugins/crypto.hpp>
#include <netaio/plugins/error.hpp>
#include <netaio/plugins/peer.hpp>
#include <netaio/plugins/peer_plugin.hpp>
#include <netaio/plugins/replay_guard.hpp>
#include <netaio/plugins/secret.hpp>
