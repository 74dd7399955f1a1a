// The wire layer: bytes <-> messages. packify, crc32, header, auth fields,
// body, message, message types, frame reader. No I/O.
#pragma once

#include <netaio/wire/auth_fields.hpp>
#include <netaio/wire/body.hpp>
#include <netaio/wire/bytes.hpp>
#include <netaio/wire/concepts.hpp>
#include <netaio/wire/crc32.hpp>
#include <netaio/wire/frame_reader.hpp>
#include <netaio/wire/header.hpp>
#include <netaio/wire/helpers.hpp>
#include <netaio/wire/keys.hpp>
#include <netaio/wire/message.hpp>
#include <netaio/wire/message_type.hpp>
#include <netaio/wire/packify.hpp>
#include <netaio/wire/protocol.hpp>
#include <netaio/wire/wire_error.hpp>
