// The plugins layer: auth, cipher and peer plugins, and the bundled ones.
#pragma once

#include <netaio/plugins/aead_cipher.hpp>
#include <netaio/plugins/auth_plugin.hpp>
#include <netaio/plugins/box.hpp>
#include <netaio/plugins/cipher_plugin.hpp>
#include <netaio/plugins/context.hpp>
#include <netaio/plugins/crypto.hpp>
#include <netaio/plugins/error.hpp>
#include <netaio/plugins/hmac_auth.hpp>
#include <netaio/plugins/layers.hpp>
#include <netaio/plugins/peer.hpp>
#include <netaio/plugins/peer_plugin.hpp>
#include <netaio/plugins/replay_guard.hpp>
#include <netaio/plugins/secret.hpp>
#include <netaio/plugins/sha256_stream_cipher.hpp>
#include <netaio/plugins/x25519_cipher.hpp>
