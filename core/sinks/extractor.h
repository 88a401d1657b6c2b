// `migscope extract`: the final content of every RAM block written to one
// sparse file per block, via OutputDir, in a single pass over the stream:
// every page record is written where it belongs as it is read, so a later
// version simply overwrites an earlier one (as on a real destination); a zero
// page that replaces data punches a hole; zero pages never written stay holes.
// With threads, the writes run on a worker while the walk goes on.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <sys/uio.h>

#include "input/input.h"
#include "ram/lazy_array.h"
#include "ram/page_index.h"
#include "pipeline/batch_worker.h"
#include "sinks/output_dir.h"
#include "migscope/events.h"
#include "migscope/records.h"
#include "wire/cursor.h"
#include "migscope/error.h"

namespace migscope {

/// Where a block's bytes go: one file, and pieces of the block at offsets in
/// it (a block split around a hole, or parts of it not written at all).
struct BlockTarget {
  struct Piece {
    std::uint64_t begin = 0, end = 0;  ///< bytes of the block
    std::uint64_t file_offset = 0;     ///< where `begin` goes
    bool dropped = false;              ///< not written anywhere
  };
  int fd = -1;
  std::string name;             ///< the file, for messages
  std::vector<Piece> pieces;    ///< sorted, covering the block
};

/// Gives the extractor a target for each block as the stream announces it.
class PageTarget {
 public:
  virtual ~PageTarget() = default;
  /// `record` has name and length set; the target may set relative_path.
  virtual Result<BlockTarget> open_block(const RamBlock& block, ExtractedBlock& record) = 0;
};

/// One sparse file per block in an OutputDir (extract).
class DirPageTarget : public PageTarget {
 public:
  explicit DirPageTarget(OutputDir& dir) : dir_(dir) {}
  Result<BlockTarget> open_block(const RamBlock& block, ExtractedBlock& record) override;

 private:
  OutputDir& dir_;
};

class StreamingExtractor : public StreamVisitor {
 public:
  /// Reads `index` for the versions XBZRLE deltas apply to: the index must
  /// see every event first (one StreamFanout, index before this). Files
  /// are created by `target`, not committed: the caller commits once everything
  /// else succeeded. `release_behind`: `file` is a read-only mapping whose
  /// pages may leave the resident set once written out.
  StreamingExtractor(Bytes file, const PageIndex& index, PageTarget& target, bool threaded, bool release_behind);
  ~StreamingExtractor() override;
  StreamingExtractor(const StreamingExtractor&) = delete;
  StreamingExtractor& operator=(const StreamingExtractor&) = delete;

  Status on_ram_blocks(const SectionInfo& s, std::span<const RamBlock> blocks) override;
  Status on_pages(std::span<const RamBlock> blocks, std::span<const PageRecord> pages) override;
  Status on_ram_discard(std::span<const RamBlock> blocks, const RamDiscard& d) override;

  /// Wait for the writes; the first write error, if any. Call after the walk.
  Status finish();
  const std::vector<ExtractedBlock>& blocks() const noexcept { return blocks_; }

 private:
  struct Write {
    static constexpr std::size_t kHole = SIZE_MAX;  // the page becomes zero
    static constexpr std::size_t kInput = SIZE_MAX - 1;  // `content` points into the input
    std::uint32_t block;
    std::uint64_t page;
    const std::byte* content;
    std::size_t decoded;  // offset in Batch::decoded, or kHole / kInput
  };
  struct Batch {
    std::vector<Write> writes;
    std::vector<std::byte> decoded;  // pages that had to be decoded, owned by the batch
  };
  static constexpr std::size_t kMaxRun = 256;  // pages per pwritev (1 MiB of 4 KiB pages)
  Status write_run(std::uint32_t block, std::uint64_t offset, std::size_t count, std::uint64_t bytes);
  Status hand_over(std::uint64_t end);  // walker: give `filling_` to the writer
  Status write_batch(Batch& b);          // writer side
  Status punch(std::uint32_t block, std::uint64_t page);
  Status punch_range(std::uint32_t block, std::uint64_t offset, std::uint64_t n);
  Status write_split_page(std::uint32_t block, std::uint64_t offset, const std::byte* p, std::uint64_t n);
  /// The piece of `block` holding byte `offset` (nullptr: past the pieces).
  const BlockTarget::Piece* piece_at(std::uint32_t block, std::uint64_t offset) const noexcept;
  /// fn(file_offset, block_offset, length) for each written piece of [offset, offset + n).
  template <typename Fn>
  Status for_each_piece(std::uint32_t block, std::uint64_t offset, std::uint64_t n, Fn&& fn);
  Error write_error(std::uint32_t block) const;

  Bytes file_;
  const PageIndex& index_;
  PageTarget& target_;
  bool release_behind_;
  MappingReleaser releaser_;
  std::vector<ExtractedBlock> blocks_;
  std::vector<BlockTarget> targets_;
  std::vector<LazyArray> written_;  // per block, one bit per page: data was written there
  PageResolver resolver_;           // walker side: XBZRLE and zlib pages
  std::vector<std::byte> zeros_;
  std::array<struct iovec, kMaxRun> iov_{};  // the writer's

  Batch filling_;
  BatchWorker<Batch> writer_;  // last: it stops before the rest goes
};

}  // namespace migscope
