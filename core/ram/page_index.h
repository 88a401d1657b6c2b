// The page index: per guest page, where its latest version lives (the last
// record wins, as on a real destination). One 8-byte entry per page, in a
// lazily-populated mapping, so memory follows the pages actually sent.
// XBZRLE versions keep a link to the version before them; content is produced
// only when asked for (PageResolver), never copied up front.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ram/lazy_array.h"
#include "migscope/events.h"
#include "wire/cursor.h"
#include "migscope/error.h"

namespace migscope {

/// A page's latest version: kind in the top 3 bits, the rest depends on it.
struct PageEntry {
  enum Kind : std::uint64_t { none = 0, zero = 1, page = 2, compressed = 3, xbzrle = 4, mapped = 5 };
  static constexpr int kShift = 61;
  /// Bit 60 is free for consumers that visit each page once (MemoryJson).
  static constexpr std::uint64_t kMarkBit = std::uint64_t{1} << 60;
  static constexpr std::uint64_t kValueMask = kMarkBit - 1;

  static std::uint64_t make(Kind k, std::uint64_t value) { return (static_cast<std::uint64_t>(k) << kShift) | value; }
  static Kind kind(std::uint64_t e) { return static_cast<Kind>(e >> kShift); }
  static std::uint64_t value(std::uint64_t e) { return e & kValueMask; }
};

/// An XBZRLE version: its delta in the file and the entry it applies to.
struct XbzrleLink {
  std::uint64_t delta_offset = 0;  ///< file offset of the delta bytes
  std::uint64_t previous = 0;      ///< PageEntry value before this version
  std::uint16_t delta_length = 0;
};

struct IndexedBlock {
  std::string name;
  std::uint64_t length = 0;
  std::uint64_t pages = 0;  ///< ceil(length / page size)
  std::optional<std::uint64_t> guest_addr;
};

class PageIndex : public StreamVisitor {
 public:
  /// Entries are grouped in chunks of this many pages; only touched chunks are visited.
  static constexpr std::uint64_t kChunkPages = LazyArray::kChunk;
  /// RAM larger than this many pages in all is refused (16 TiB of 4 KiB pages):
  /// the chunk tables cost 8 bytes per 512 declared pages.
  static constexpr std::uint64_t kMaxPages = std::uint64_t{1} << 32;

  /// Above this many pages in all (16 MiB of entries: an 8 GiB guest), the
  /// entries move to a ChunkArena, so the resident set does not grow with the guest.
  static constexpr std::uint64_t kSpillPages = std::uint64_t{2} << 20;
  /// With an arena, its resident chunks are dropped every this many chunk switches (8 MiB).
  static constexpr std::uint64_t kTrimEvery = 2048;

  /// `file` is the whole input: entries store offsets into it. The page size
  /// is the stream's, taken from the first block announced.
  explicit PageIndex(Bytes file, std::uint64_t spill_pages = kSpillPages);
  PageIndex(const PageIndex&) = delete;
  PageIndex& operator=(const PageIndex&) = delete;

  Status on_ram_blocks(const SectionInfo&, std::span<const RamBlock> blocks) override;
  Status on_pages(std::span<const RamBlock> blocks, std::span<const PageRecord> pages) override;
  Status on_ram_discard(std::span<const RamBlock> blocks, const RamDiscard& d) override;

  std::uint64_t page_size() const noexcept { return page_size_; }
  std::size_t block_count() const noexcept { return blocks_.size(); }
  const IndexedBlock& block(std::size_t i) const { return blocks_[i].info; }
  std::uint64_t entry(std::size_t block, std::uint64_t page) const {
    return blocks_[block].entries.get(page) & ~PageEntry::kMarkBit;
  }
  /// Mark a page as visited; true the first time. Only for sent pages.
  bool mark_once(std::size_t block, std::uint64_t page) {
    std::uint64_t* e = blocks_[block].entries.ref(page);
    if (!e || (*e & PageEntry::kMarkBit)) return false;
    *e |= PageEntry::kMarkBit;
    return true;
  }
  bool chunk_touched(std::size_t block, std::uint64_t chunk) const { return blocks_[block].entries.chunk_allocated(chunk); }
  /// The first touched chunk at or after `chunk`, or UINT64_MAX.
  std::uint64_t next_touched_chunk(std::size_t block, std::uint64_t chunk) const {
    return blocks_[block].entries.next_allocated(chunk);
  }
  /// A reader going through a block in order reached a new chunk (keeps a
  /// spilled index's resident set bounded on reads too).
  void note_read_chunk(std::size_t block) const noexcept { blocks_[block].entries.note_read_chunk(); }
  /// True once the entries live in a temporary file (a large guest).
  bool spilled() const noexcept { return arena_ != nullptr; }
  static std::uint64_t chunk_count_for(std::uint64_t pages) { return (pages + kChunkPages - 1) / kChunkPages; }
  std::uint64_t chunk_count(std::size_t block) const { return chunk_count_for(blocks_[block].info.pages); }
  const std::vector<XbzrleLink>& xbzrle_links() const noexcept { return links_; }
  /// One page of zeros, shared by every resolver (it outlives them all).
  const std::byte* zero_page() const noexcept { return zero_.data(); }

 private:
  struct Block {
    IndexedBlock info;
    LazyArray entries;  // chunks of it that no record touched cost nothing
  };
  Status set(Block& b, std::uint64_t page, std::uint64_t entry);
  static std::uint64_t index_next(const Block& b, std::uint64_t chunk);

  const std::byte* base_;
  std::uint64_t spill_pages_;
  std::shared_ptr<ChunkArena> arena_;
  std::uint64_t page_size_;
  std::vector<std::byte> zero_;
  std::vector<Block> blocks_;
  std::vector<XbzrleLink> links_;
  std::uint64_t total_pages_ = 0;
};

/// Produces the final content of a page from its entry. One per thread: it
/// owns scratch space and a zlib stream, reused for every page.
class PageResolver {
 public:
  PageResolver(Bytes file, const PageIndex& index);
  ~PageResolver();
  PageResolver(const PageResolver&) = delete;
  PageResolver& operator=(const PageResolver&) = delete;

  /// The content of the page whose entry is `entry`: a pointer into the file,
  /// to a shared zero page, or into `scratch` (page-size bytes the caller owns)
  /// when it had to be decoded.
  Result<const std::byte*> resolve(std::uint64_t entry, std::byte* scratch);

  const std::byte* zero_page() const noexcept { return index_.zero_page(); }

 private:
  Status inflate_page(std::uint64_t length_offset, std::byte* out);
  Status materialize(std::uint64_t entry, std::byte* out);

  Bytes file_;
  const PageIndex& index_;
  std::uint64_t page_size_;
  std::vector<std::uint32_t> chain_;  // reused: XBZRLE links to apply, newest first
  struct Inflater;                    // zlib's stream, made on the first compressed page
  std::unique_ptr<Inflater> inflater_;
};

}  // namespace migscope
