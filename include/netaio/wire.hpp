// The wire layer: bytes <-> messages. packify, crc32, header, auth fields,
// body, message, message types, frame reader. No I/O.
#pragma once

#include <netaio/wire/auth_fields.hpp>
#include <netaio/wire/bytes.hpp>
#include <netaio/wire/crc32.hpp>
#include <netaio/wire/packify.hpp>
#include <netaio/wire/wire_error.hpp>
