// hash, as one pipeline:
//   pass 1  walk -> StreamFanout{PageIndex, InOrderHasher}
//           every page's last version indexed; blocks whose pages arrive in
//           order (each once, ascending) hashed on the way, on a worker thread
//           with threads > 1;
//   pass 2  PagePipeline over the index -> HashLineWriter (sinks/page_hasher)
//           the other blocks' pages resolved and hashed on worker threads,
//           consumed in order with the first pass's results: JSON lines, then
//           one summary line per block.
#include "migscope/ops.h"
#include "ops/incomplete_save.h"
#include "ops/text_output.h"
#include "ram/page_index.h"
#include "sinks/inorder_hasher.h"
#include "sinks/page_hasher.h"
#include "stream/open.h"

namespace migscope::ops {

Result<HashReport> hash(const Dump& dump, const HashOptions& options, const TextOutput& out) {
  if (auto refused = refuse_incomplete_save(dump, /*can_keep_going=*/false)) return *refused;
  MIGSCOPE_ASSIGN(const Bytes file, dump.stream().prepare(/*read_once=*/true));
  const unsigned threads = options.threads == 0 ? 1 : options.threads;
  PageIndex index(file);
  // The hasher drops what it has hashed from the resident set itself, so the
  // walk's own release stays off (it would re-fault pages the worker still reads).
  InOrderHasher first_pass(file, threads > 1, /*release_behind=*/dump.stream().releasable(true));
  StreamFanout pass1({&index, &first_pass});
  WalkOptions once;
  once.read_once = true;  // the hasher's worker lags by at most two batches
  auto summary = dump.walk(pass1, once);
  MIGSCOPE_TRY(first_pass.finish());
  if (!summary.ok()) return std::move(summary).error();

  // Blocks whose pages did not come in order are hashed from the index: a
  // decompressed stream is then produced again, kept in a temporary file.
  bool all_hashed = true;
  for (std::size_t i = 0; i < summary->ram_blocks.size(); ++i) all_hashed = all_hashed && first_pass.complete(i);
  Bytes all = file;
  if (!all_hashed && dump.stream().streamed()) {
    MIGSCOPE_ASSIGN(all, dump.random_access());
  }
  OutputBuffer buffer(out);
  PageHashOptions pass2;
  pass2.threads = threads;
  pass2.release_behind = true;
  pass2.whole_hash_budget = options.whole_hash_budget.value_or((std::uint64_t{64} << 30) + 64 * dump.size());
  auto blocks = hash_pages(all, index, pass2, buffer.buffer(), &first_pass);
  buffer.flush();
  if (!blocks.ok()) return std::move(blocks).error();
  MIGSCOPE_TRY(buffer.finish());
  return HashReport{std::move(summary).value(), std::move(blocks).value()};
}

}  // namespace migscope::ops
