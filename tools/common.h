// Shared CLI plumbing: error lines, exit codes, option parsing helpers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/program_options.hpp>

#include "error_lines.h"
#include "exit_codes.h"
#include "migscope/error.h"
#include "migscope/stream.h"

namespace migscope::tools {

/// --progress and --quiet (tools/progress.h) and --strict, which every
/// subcommand takes.
boost::program_options::options_description common_options();

/// --strict as parsed: every recovery is an error (WalkOptions::strict).
bool& strict_reading();
/// How the subcommands open a dump: with this description and snapshot, strict if asked.
OpenOptions open_options(std::string vmdesc_path, std::string snapshot);

/// The exit-code table every help text ends with.
inline constexpr const char* kExitCodeHelp =
    "exit status: 0 success; 1 findings or differences (check, diff); 2 usage; 3 not a QEMU stream;\n"
    "4 unsupported feature; 5 corrupt or truncated input (or malformed JSON); 6 output refused\n"
    "(exists, or outside the output directory); 7 I/O error; 70 internal error; 130/143 interrupted.\n";

/// Parse a subcommand's argv: the options in `opts` (which should include
/// "help,h") plus one positional FILE stored into `file`. Returns an exit code
/// when the command should stop now (help printed: 0; usage error reported: 2;
/// FILE missing: 2), nothing when it should go on.
std::optional<int> parse_command_line(int argc, char** argv, std::string_view prog,
                                      const boost::program_options::options_description& opts, std::string& file,
                                      boost::program_options::variables_map* vm = nullptr);

/// A mapped input that shrinks under us (truncated or rewritten while being
/// read) raises SIGBUS on access. Turn that into one line on stderr and the
/// corrupt-input exit code instead of a silent crash; and on SIGINT or
/// SIGTERM remove what unfinished outputs left (ops::remove_partial_outputs)
/// and exit 130 or 143. Call once in main().
void install_sigbus_handler(const char* prog);

/// The default for -j and for helper threads: every core (at least 1).
unsigned all_cores();

}  // namespace migscope::tools
