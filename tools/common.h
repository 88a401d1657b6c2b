// Shared CLI plumbing: error lines, exit codes, option parsing helpers.
#pragma once

#include <string>
#include <string_view>

#include "exit_codes.h"
#include "wire/error.h"

namespace migscope::tools {

/// Print one line "<prog>: <file>: <error message>" to stderr; return its exit code.
int report_error(std::string_view prog, std::string_view file, const Error& error);
/// Print "<prog>: <message>" and a usage hint to stderr; return exit_usage.
int report_usage(std::string_view prog, std::string_view message);

/// A mapped input that shrinks under us (truncated or rewritten while being
/// read) raises SIGBUS on access. Turn that into one line on stderr and the
/// corrupt-input exit code instead of a silent crash. Call once in main().
void install_sigbus_handler(const char* prog);

}  // namespace migscope::tools
