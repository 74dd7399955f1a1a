// Runs an io test body on a fresh virtual-time io_context and checks that it
// left nothing behind: no pending operation, no registered descriptor, no
// open descriptor, no live task frame.
#pragma once

#include <netaio/core.hpp>
#include <netaio/io.hpp>

#include <doctest/doctest.h>

#include "support/fd_count.hpp"

namespace test {

/// `body(io)` gives the task to run; every leak check runs after it.
template <class Body>
void run_io_checked(Body&& body) {
  fd_baseline fds;
  const long frames = netaio::live_task_frames();
  {
    netaio::io_context io({.virtual_time = true});
    io.run(body(io));
    CHECK(io.pending_operations() == 0);
    CHECK(io.registered_descriptors() == 0);
  }
  CHECK(fds.delta() == 0);
  CHECK(netaio::live_task_frames() == frames);
}

}  // namespace test
