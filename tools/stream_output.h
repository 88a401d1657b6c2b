// What `migscope state|desc|extract` and the analyze-migration drop-in share:
// open the dump, call the operation, print its result and its warnings. They
// differ only in option syntax and exit codes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "migscope/stream.h"

namespace migscope::tools {

struct StreamArgs {
  std::string prog;         ///< for messages, e.g. "migscope state"
  std::string file;
  std::string vmdesc_file;  ///< --vmdesc
  std::string snapshot;     ///< --snapshot: a qcow2 image's snapshot
  std::optional<std::uint64_t> page_size;
  bool memory = false;      ///< -m: add the RAM contents to the state
  bool keep_going = false;  ///< on damage, finish the JSON with an error record
  bool offers_keep_going = true;  ///< the command has --keep-going (the drop-in has not)
};

/// Print the device state JSON to stdout. Returns an ErrorCode-style result:
/// ok, or the error already reported on stderr.
ErrorCode print_state(const StreamArgs& args);
/// Print the vmdesc JSON to stdout.
ErrorCode print_desc(const StreamArgs& args);

struct ExtractArgs {
  std::string dir = ".";
  bool force = false;
  unsigned threads = 1;
  /// Print what upstream -x prints (desc.json, each block name, state.json)
  /// instead of migscope's table of files.
  bool upstream_listing = false;
};

/// Extract RAM blocks, desc.json and state.json into a directory, atomically.
ErrorCode run_extract(const StreamArgs& args, const ExtractArgs& extract);

/// Print walk warnings to stderr, one line each.
void report_warnings(std::string_view prog, std::string_view file, const WalkSummary& summary);

}  // namespace migscope::tools
