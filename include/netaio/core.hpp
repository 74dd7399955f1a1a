// The coroutine runtime: tasks, scopes, cancellation, deadlines, the loop.
#pragma once

#include <netaio/core/cancellation.hpp>
#include <netaio/core/deadline.hpp>
#include <netaio/core/error.hpp>
#include <netaio/core/event.hpp>
#include <netaio/core/event_loop.hpp>
#include <netaio/core/queue.hpp>
#include <netaio/core/sleep.hpp>
#include <netaio/core/task.hpp>
#include <netaio/core/task_handle.hpp>
#include <netaio/core/task_name.hpp>
#include <netaio/core/task_scope.hpp>
#include <netaio/core/when_all.hpp>
#include <netaio/core/with_scope.hpp>
