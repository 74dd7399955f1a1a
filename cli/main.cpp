// The netaio program: what curl and nc are to HTTP and TCP, for the netaio
// protocol. Commands live in commands/, one file per family; this file only
// parses and maps every failure to one line on stderr and an exit code.
#include "commands/commands.hpp"
#include "common.hpp"

#include <netaio/version.hpp>

#include <exception>
#include <string>

namespace {

int run(int argc, char** argv) {
  using namespace netaio_cli;
  app_state st;
  CLI::App app{"Talk to netaio nodes (C++ or the Python reference) from a shell.", "netaio"};
  app.set_version_flag("--version", "netaio " NETAIO_VERSION);
  app.add_flag("-v,--verbose", st.verbosity, "log more to stderr (-v: info, -vv: debug)");
  // At most one command; none is reported after parsing, so that an unknown
  // option is named as such rather than as a missing command.
  app.require_subcommand(0, 1);
  // -v after the command name works too: `netaio send ... -v`.
  app.fallthrough();
  app.footer(
      "Example:\n  netaio encode --type REQUEST_URI --uri echo --content hi | netaio decode\n"
      "Run `netaio COMMAND --help` for a command's options.");

  add_serve_command(app, st);
  add_request_commands(app, st);
  add_subscribe_command(app, st);
  add_send_command(app, st);
  add_udp_commands(app, st);
  add_codec_commands(app, st);
  add_bench_command(app, st);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0: CLI11 prints them.
    if (e.get_exit_code() == 0) return app.exit(e);
    print_error(std::string(e.what()) + " (see netaio --help)");
    return exit_code::usage;
  }
  st.log.set_level(st.verbosity >= 2   ? netaio::log_level::debug
                   : st.verbosity == 1 ? netaio::log_level::info
                                       : netaio::log_level::warning);
  if (!st.action) {
    print_error("no command given (see netaio --help)");
    return exit_code::usage;
  }
  return st.action();
}

}  // namespace

int main(int argc, char** argv) {
  // Every failure ends as one line on stderr and an exit code: never a stack
  // trace or an abort.
  try {
    return run(argc, argv);
  } catch (const netaio_cli::usage_error& e) {
    netaio_cli::print_error(e.what());
    return netaio_cli::exit_code::usage;
  } catch (const std::exception& e) {
    netaio_cli::print_error(std::string("internal error: ") + e.what());
    return netaio_cli::exit_code::software;
  } catch (...) {
    netaio_cli::print_error("internal error: an exception not derived from std::exception");
    return netaio_cli::exit_code::software;
  }
}
