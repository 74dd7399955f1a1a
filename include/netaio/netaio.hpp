// netaio for C++: the umbrella header. Include this, or one layer's header.
#pragma once

#include <netaio/core.hpp>
#include <netaio/detail/config.hpp>
#include <netaio/io.hpp>
#include <netaio/node.hpp>
#include <netaio/plugins.hpp>
#include <netaio/wire.hpp>
