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

namespace migscope::ops {

Result<HashReport> hash(const Dump& dump, const HashOptions& options, const TextOutput& out) {
  if (auto refused = refuse_incomplete_save(dump, /*can_keep_going=*/false)) return *refused;
  const Bytes file = dump.bytes();
  const unsigned threads = options.threads == 0 ? 1 : options.threads;
  PageIndex index(file);
  // The hasher drops what it has hashed from the resident set itself, so the
  // walk's own release stays off (it would re-fault pages the worker still reads).
  InOrderHasher first_pass(file, threads > 1, /*release_behind=*/true);
  StreamFanout pass1({&index, &first_pass});
  auto summary = dump.walk(pass1);
  MIGSCOPE_TRY(first_pass.finish());
  if (!summary.ok()) return std::move(summary).error();

  OutputBuffer buffer(out);
  PageHashOptions pass2;
  pass2.threads = threads;
  pass2.release_behind = true;
  pass2.whole_hash_budget = options.whole_hash_budget.value_or((std::uint64_t{64} << 30) + 64 * dump.size());
  auto blocks = hash_pages(file, index, pass2, buffer.buffer(), &first_pass);
  buffer.flush();
  if (!blocks.ok()) return std::move(blocks).error();
  MIGSCOPE_TRY(buffer.finish());
  return HashReport{std::move(summary).value(), std::move(blocks).value()};
}

}  // namespace migscope::ops
