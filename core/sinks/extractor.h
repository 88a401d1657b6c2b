// `migscope extract`: the final content of every RAM block written to one
// sparse file per block (pages that are zero stay holes), via OutputDir.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ram/page_index.h"
#include "sinks/output_dir.h"
#include "wire/cursor.h"
#include "wire/error.h"

namespace migscope {

struct ExtractedBlock {
  std::string name;
  std::string relative_path;
  std::uint64_t length = 0;
  std::uint64_t pages_written = 0;
};

/// Reserve and write every block of `index` into `dir` (not committed: the
/// caller commits once everything else it writes succeeded).
/// `release_behind`: `file` is a read-only mapping whose pages may leave the resident set.
Result<std::vector<ExtractedBlock>> extract_blocks(Bytes file, const PageIndex& index, OutputDir& dir, unsigned threads,
                                                   bool release_behind = false);

}  // namespace migscope
