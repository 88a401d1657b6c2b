// One-line error and usage messages on stderr, with the exit code they stand for.
#pragma once

#include <string>
#include <string_view>

#include "exit_codes.h"
#include "migscope/error.h"

namespace migscope::tools {

/// `text` followed by how to get past it with this program's options.
std::string with_remedy(std::string text, Remedy remedy);

/// Print one line "<prog>: <file>: <error message>" to stderr; return its exit code.
int report_error(std::string_view prog, std::string_view file, const Error& error);
/// Print "<prog>: <message>" and a usage hint to stderr; return exit_usage.
int report_usage(std::string_view prog, std::string_view message);

}  // namespace migscope::tools
