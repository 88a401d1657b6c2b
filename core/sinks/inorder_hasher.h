// One-pass hashing while the index is built. In the common stream shape — each
// page of a block sent once, in ascending order, no gaps (a paused guest's
// dump) — every page's final content is known when its record is read, so its
// XXH3-64 and the block's running XXH3-128 are computed right then and the
// file is not read a second time. A block that leaves that shape (a re-sent,
// skipped or discarded page, an XBZRLE record) is simply hashed again in the
// second pass. With threads, the pages are hashed in chunks by a worker and
// by the walking thread itself, whichever is free (the walk alone is a
// quarter of the hashing's cost); the block streams are folded chunk by chunk
// in order from the per-page sums the chunks kept.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <xxhash.h>

#include "input/input.h"
#include "ram/lazy_array.h"
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
  /// Read back the per-page XXH3-64 values of a complete block, page 0 first,
  /// a run at a time (they were kept in an unlinked temporary file, not in memory).
  Status read_page_hashes(std::size_t block,
                          const std::function<void(std::uint64_t first_page, std::span<const std::uint64_t> hashes)>& fn);
  /// Zero records (fill 0) of a complete block.
  std::uint64_t zero_pages(std::size_t block) const { return blocks_[block].zero_pages; }
  XXH128_hash_t block_hash(std::size_t block) const { return blocks_[block].digest; }

 private:
  struct Block {
    std::uint64_t length = 0, pages = 0;
    std::FILE* hashes = nullptr;  // per-page XXH3-64, in page order (8 bytes each)
    std::vector<std::uint64_t> pending;  // hashes not yet written to `hashes`
    std::uint64_t zero_pages = 0;
    bool hashes_lost = false;            // the temporary file failed (folder's flag)
    XXH3_state_t* state = nullptr;
    // Whole 4 KiB pages: both hashes in one pass over each page (Xxh3PageKernel).
    bool whole_pages = false;
    Xxh3BlockStream stream;
    XXH128_hash_t digest{};
    bool digested = false;
  };
  // The walking thread's view of a block, apart from what the folding writes
  // (no cache line shared between the two).
  struct Order {
    std::uint64_t next_page = 0;  // pages taken in order so far
    std::uint64_t pages = 0;
    bool whole_pages = false;
    bool in_order = true;
  };
  struct Job {
    std::uint32_t block;
    bool whole;  // of a whole-pages block
    bool last;   // the block's last page
    std::uint64_t page;
    PageRecord record;
  };
  // Up to kChunkPages consecutive in-order pages (of one or more walk
  // batches): hashed by any thread (each page's XXH3-64 and sums), then
  // folded into the block streams in order.
  struct alignas(64) Chunk {
    std::vector<Job> jobs;              // kChunkPages, allocated once
    std::size_t count = 0;
    std::size_t data = 0;               // pages with bytes to hash (not zero records)
    std::uint64_t first = 0;            // file offset of the first page
    std::uint64_t end = 0;              // the input is no longer needed before here once it is folded
    std::vector<std::uint64_t> hashes;  // kChunkPages, allocated once
    std::vector<Xxh3PageSums> sums;     // kChunkPages, allocated once
    bool hashed = false;
  };
  static constexpr std::size_t kChunkPages = 1024;  // 4 MiB of pages: ~0.2 ms to hash
  static constexpr std::size_t kRing = 16;          // chunks published and not yet folded, at most
  // Pages with bytes the walker leaves unstarted for the worker when it goes
  // on walking: 8 MiB, more than the worker hashes while one walk batch
  // (4096 records at most) is read (zero records cost nothing to hash, so
  // the backlog counts data pages).
  static constexpr std::size_t kBacklogPages = 2048;
  // A read-once window keeps 40 MiB behind the walk's furthest read, and the
  // walk reads up to a batch (16 MiB) ahead of its last on_pages: what is
  // not folded stays within this of the last page handed over.
  static constexpr std::uint64_t kOnceLag = 16u << 20;

  const std::byte* content_of(const PageRecord& r, std::vector<std::byte>& fill_page) const;
  void keep_hash(Block& b, std::uint64_t h);
  Status write_pending(Block& b);
  void hash_chunk(Chunk& c, std::vector<std::byte>& fill_page);  // any thread
  void fold_chunk(Chunk& c);                                      // one thread at a time, in order
  Chunk& open_chunk();                                  // the walker's chunk to fill (waits for a free one)
  void publish(Chunk& c, std::uint64_t end);           // filled: to the hashing threads (or hashed now)
  void run(std::uint64_t seq, std::vector<std::byte>& fill_page, std::unique_lock<std::mutex>& lock);
  void wait_folded(std::uint64_t seq, std::unique_lock<std::mutex>& lock);  // walker: helps meanwhile
  void worker_loop();

  Bytes file_;
  bool release_behind_;
  bool threaded_;
  std::uint64_t page_size_ = 0;       // the stream's target page size, from the first block
  std::vector<std::byte> zero_;       // one page of zeros
  MappingReleaser releaser_;
  std::vector<Block> blocks_;
  std::vector<Order> order_;
  std::vector<std::byte> walker_fill_, worker_fill_, fold_fill_;  // zero records with a non-zero fill
  std::uint64_t zero_page_hash_ = 0;  // XXH3-64 of a page of zeros
  Xxh3PageSums zero_page_sums_{};     // and its sums, with 4 KiB pages
  const Xxh3PageKernel& kernel_ = xxh3_page_kernel();
  std::array<Chunk, kRing> ring_;  // chunk `seq` is ring_[seq % kRing]
  Chunk* filling_ = nullptr;       // the walker's, not published yet (ring_[published_ % kRing])
  // Under mu_: chunks published, taken (by a hashing thread), folded;
  // whether a thread folds; where the folded chunks end.
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t published_ = 0, taken_ = 0, folded_ = 0;
  std::size_t unstarted_data_ = 0;  // data pages of the published chunks not taken yet
  bool folding_ = false, stop_ = false;
  std::uint64_t folded_end_ = 0;  // the input is no longer needed before here
  std::thread worker_;  // last: it stops before the rest goes
};

}  // namespace migscope
