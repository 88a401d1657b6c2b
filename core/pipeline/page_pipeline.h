// Pass 2 over the page index: the pages that were sent, in block then offset
// order, in batches. Worker threads resolve (and hash or write) batches; one
// consumer sees the batches in order, so output never depends on the thread
// count. No allocation per page: batch buffers are reused.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "input/input.h"
#include "ram/page_index.h"
#include "wire/cursor.h"
#include "migscope/error.h"

namespace migscope {

struct PageBatch {
  std::uint32_t block = 0;
  std::vector<std::uint64_t> pages;           ///< page numbers in the block, ascending
  std::vector<const std::byte*> content;      ///< final content of each page
  std::vector<std::uint64_t> values;          ///< per page, filled by the worker (e.g. XXH3-64)
  std::vector<std::byte> scratch;             ///< decoded pages live here (pages.size() * page size)
};

class PagePipeline {
 public:
  static constexpr std::size_t kBatchPages = 256;

  /// Called on a worker thread after `content` was resolved.
  using Work = std::function<Status(PageBatch&)>;
  /// Called on the calling thread, batches in order.
  using Consume = std::function<Status(const PageBatch&)>;

  PagePipeline(Bytes file, const PageIndex& index, unsigned threads);

  /// `file` is a read-only mapping: after each batch is consumed, drop the file
  /// pages it read from the resident set (they stay in the page cache).
  void set_release_behind(bool on) { release_ = on; }
  /// Leave out the blocks whose flag is true (already handled elsewhere).
  void skip_blocks(std::vector<bool> skip) { skip_ = std::move(skip); }

  /// Run over every sent page. Blocks with no sent page produce no batch.
  Status run(const Work& work, const Consume& consume);

 private:
  bool next_batch(PageBatch& b);  // under the producer lock
  void release(const PageBatch& b);  // consumer thread only
  Status resolve(PageBatch& b, PageResolver& resolver);

  Bytes file_;
  const PageIndex& index_;
  unsigned threads_;
  bool release_ = false;
  std::vector<bool> skip_;
  MappingReleaser releaser_;
  std::size_t cur_block_ = 0;
  std::uint64_t cur_page_ = 0;
};

}  // namespace migscope
