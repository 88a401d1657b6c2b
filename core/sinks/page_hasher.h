// `migscope hash`: the final content of every sent page hashed with XXH3-64,
// as JSON Lines in block then offset order, then one summary line per block
// with its page counts and the XXH3-128 of the block's whole final content
// (unsent pages count as zeros, as on a fresh destination) — the same value
// `xxhsum -H128` gives for the block file `extract` writes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "json/py_writer.h"
#include "ram/page_index.h"
#include "wire/cursor.h"
#include "migscope/error.h"
#include "migscope/records.h"

namespace migscope {

/// The SIMD path the dispatched XXH3 uses on this CPU ("AVX-512", "AVX2", "SSE2").
std::string_view xxh3_simd_level();

/// Receives every sent page's final XXH3-64 in block then page order, in
/// place of the JSON lines (diff keeps them per page; nothing is formatted).
class PageHashListener {
 public:
  virtual ~PageHashListener() = default;
  /// `zero_record`: the page's final record is a zero page with fill 0.
  virtual void page(std::size_t block, std::uint64_t page, std::uint64_t xxh3, bool zero_record) = 0;
};

struct PageHashOptions {
  unsigned threads = 1;
  /// How many bytes of blocks the second pass may stream through the
  /// whole-block hash (zeros of unsent pages included); blocks beyond it get
  /// block_xxh128 null, so declared lengths cannot make a small file take
  /// hours. The hash operation sets 64 GiB + 64 x the input size.
  std::uint64_t whole_hash_budget = std::uint64_t{64} << 30;
  /// `file` is a read-only mapping: keep the resident set bounded.
  bool release_behind = false;
  /// If set, pages go to it and only the summary lines are written.
  PageHashListener* listener = nullptr;
};

class InOrderHasher;

/// Write the page lines and the summary lines to `out`; returns the summaries.
/// Blocks that `first_pass` (if given) hashed completely are not read again.
Result<std::vector<BlockHashSummary>> hash_pages(Bytes file, const PageIndex& index, const PageHashOptions& options,
                                                 json::OutBuffer& out, InOrderHasher* first_pass = nullptr);

}  // namespace migscope
