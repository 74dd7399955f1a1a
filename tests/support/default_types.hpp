// The default message types as enumerators, for declaring custom
// message-type enums in tests: enum class e : std::uint8_t { NETAIO_DEFAULT_TYPES, x = 50 };
#pragma once

#define NETAIO_DEFAULT_TYPES                                                                   \
  request_uri = 0, respond_uri = 1, create_uri = 2, update_uri = 3, delete_uri = 4,            \
  subscribe_uri = 5, unsubscribe_uri = 6, publish_uri = 7, notify_uri = 8, advertise_peer = 9, \
  ok = 10, confirm_subscribe = 11, confirm_unsubscribe = 12, peer_discovered = 13, error = 20, \
  auth_error = 23, not_found = 24, not_permitted = 25, disconnect = 30
