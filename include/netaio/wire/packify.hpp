// packify: the reference's serialization format (k98kurz/packify), byte for byte.
#pragma once

#include <netaio/wire/packify/big_int.hpp>
#include <netaio/wire/packify/decode.hpp>
#include <netaio/wire/packify/encode.hpp>
#include <netaio/wire/packify/value.hpp>
