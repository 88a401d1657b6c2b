// The one table of exit codes, used by every subcommand and, where upstream
// compatibility does not force another, by the drop-ins. Documented in README.md.
#pragma once

#include "migscope/error.h"

namespace migscope::tools {

enum ExitCode : int {
  exit_ok = 0,
  exit_findings = 1,        ///< check: incompatibilities found (not in the baseline)
  exit_usage = 2,           ///< bad command line
  exit_not_a_stream = 3,    ///< input is not a QEMU migration stream (or not a vmstate dump)
  exit_unsupported = 4,     ///< valid input using a feature migscope cannot decode
  exit_corrupt = 5,         ///< corrupt or truncated input (incl. malformed JSON)
  exit_output_refused = 6,  ///< output would overwrite existing data or escape its directory
  exit_io = 7,              ///< the operating system refused a read or a write
  exit_internal = 70,       ///< a bug in migscope (EX_SOFTWARE)
};

inline int exit_code_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::ok: return exit_ok;
    case ErrorCode::usage: return exit_usage;
    case ErrorCode::not_a_stream: return exit_not_a_stream;
    case ErrorCode::unsupported: return exit_unsupported;
    case ErrorCode::truncated:
    case ErrorCode::corrupt:
    case ErrorCode::invalid_json: return exit_corrupt;
    case ErrorCode::output_refused: return exit_output_refused;
    case ErrorCode::io: return exit_io;
  }
  return exit_internal;
}

}  // namespace migscope::tools
