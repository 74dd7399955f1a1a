// Each command family adds its subcommands to the program here; main.cpp
// calls every add_* in the order `netaio --help` lists them.
#pragma once

#include "common.hpp"

namespace netaio_cli {

void add_serve_command(CLI::App& app, app_state& st);  // serve.cpp
void add_request_commands(CLI::App& app,
                          app_state& st);  // request.cpp: request/create/update/delete
void add_subscribe_command(CLI::App& app, app_state& st);  // subscribe.cpp
void add_send_command(CLI::App& app, app_state& st);       // send.cpp
void add_udp_commands(CLI::App& app, app_state& st);       // udp.cpp: udp, udp-request
void add_codec_commands(CLI::App& app, app_state& st);     // codec.cpp: decode, encode
void add_bench_command(CLI::App& app, app_state& st);      // bench.cpp

}  // namespace netaio_cli
