// One-pass hashing while the index is built. In the common stream shape — each
// page of a block sent once, in ascending order, no gaps (a paused guest's
// dump) — every page's final content is known when its record is read, so its
// XXH3-64 and the block's running XXH3-128 are computed right then and the
// file is not read a second time. A block that leaves that shape (a re-sent,
// skipped or discarded page, an XBZRLE record) is simply hashed again in the
// second pass. With threads, hashing runs on a worker while the walk goes on.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <vector>

#include <xxhash.h>

#include "input/input.h"
#include "ram/lazy_array.h"
#include "pipeline/batch_worker.h"
#include "sinks/xxh3_pages.h"
#include "migscope/events.h"

namespace migscope {

class InOrderHasher : public StreamVisitor {
 public:
  /// A consumer of the walk's RAM events (beside the page index, which the
  /// second pass reads). `file` must be a read-only mapping if
  /// `release_behind`: pages behind the hashing leave the resident set (the
  /// walk's own release must then be off, or the worker would re-fault them).
  InOrderHasher(Bytes file, bool threaded, bool release_behind);
  ~InOrderHasher() override;
  InOrderHasher(const InOrderHasher&) = delete;
  InOrderHasher& operator=(const InOrderHasher&) = delete;

  Status on_ram_blocks(const SectionInfo& s, std::span<const RamBlock> blocks) override;
  Status on_pages(std::span<const RamBlock> blocks, std::span<const PageRecord> pages) override;
  Status on_ram_discard(std::span<const RamBlock> blocks, const RamDiscard& d) override;

  /// Wait for the worker; call after the walk, before the results.
  Status finish();

  /// True if every page of `block` was hashed in this pass.
  bool complete(std::size_t block) const;
  /// Read back the per-page XXH3-64 values of a complete block, page 0 first
  /// (they were kept in an unlinked temporary file, not in memory).
  Status read_page_hashes(std::size_t block, const std::function<void(std::uint64_t page, std::uint64_t hash)>& fn);
  XXH128_hash_t block_hash(std::size_t block) const { return blocks_[block].digest; }

 private:
  struct Block {
    std::uint64_t length = 0, pages = 0;
    std::uint64_t next_page = 0;  // pages hashed in order so far (walker's view)
    bool in_order = true;
    std::FILE* hashes = nullptr;  // per-page XXH3-64, in page order (8 bytes each)
    std::vector<std::uint64_t> pending;  // hashes not yet written to `hashes`
    bool hashes_lost = false;            // the temporary file failed (worker's flag)
    XXH3_state_t* state = nullptr;
    // Whole 4 KiB pages: both hashes in one pass over each page (Xxh3PageKernel).
    bool whole_pages = false;
    Xxh3BlockStream stream;
    XXH128_hash_t digest{};
    bool digested = false;
  };
  struct Job {
    std::uint32_t block;
    std::uint64_t page;
    PageRecord record;
  };
  const std::byte* content_of(const PageRecord& r, std::vector<std::byte>& fill_page) const;
  void keep_hash(Block& b, std::uint64_t h);
  Status write_pending(Block& b);
  Status hash_jobs(std::vector<Job>& jobs);  // the worker (or the walker without threads)

  Bytes file_;
  bool release_behind_;
  std::uint64_t page_size_ = 0;       // the stream's target page size, from the first block
  std::vector<std::byte> zero_;       // one page of zeros
  MappingReleaser releaser_;
  std::vector<Block> blocks_;
  std::vector<std::byte> fill_;       // zero records with a non-zero fill
  std::uint64_t zero_page_hash_ = 0;  // XXH3-64 of a page of zeros
  Xxh3PageSums zero_page_sums_{};     // and its sums, with 4 KiB pages
  const Xxh3PageKernel& kernel_ = xxh3_page_kernel();
  std::vector<Job> filling_;
  BatchWorker<std::vector<Job>> worker_;  // last: it stops before the rest goes
};

}  // namespace migscope
