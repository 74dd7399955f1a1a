// The library's version. It must match project(version:) in meson.build:
// the test command checks that it does, and that the single header, the
// installed netaio.pc and CMake files and the Conan recipe agree.
#pragma once

#define NETAIO_VERSION_MAJOR 0
#define NETAIO_VERSION_MINOR 1
#define NETAIO_VERSION_PATCH 0
/// "MAJOR.MINOR.PATCH".
#define NETAIO_VERSION "0.1.0"
