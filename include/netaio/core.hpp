// The coroutine runtime: tasks, scopes, cancellation, deadlines, the loop.
#pragma once

#include <netaio/core/cancellation.hpp>
#include <netaio/core/error.hpp>
