// Per RAM block, what each page's records amount to (migscope/records.h
// PageClass), summarised into a picture of at most `max_cells` cells
// (BlockPageMap): what `report` draws. One byte per page touched, in chunks
// allocated on first write, so a huge block with few pages costs little and a
// block's declared length never decides the memory used.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "migscope/events.h"
#include "migscope/records.h"

namespace migscope {

class PageMapCollector : public StreamVisitor {
 public:
  explicit PageMapCollector(std::uint64_t max_cells = 4096) : max_cells_(max_cells == 0 ? 1 : max_cells) {}

  Status on_ram_blocks(const SectionInfo&, std::span<const RamBlock> blocks) override;
  Status on_pages(std::span<const RamBlock> blocks, std::span<const PageRecord> pages) override;

  /// The maps of every block of the table (call after the walk).
  std::vector<BlockPageMap> maps() const;

 private:
  static constexpr unsigned kChunkBits = 16;  // 64 Ki pages (64 KiB) per chunk
  struct Block {
    std::string name;
    std::uint64_t length = 0, page_size = 0, pages = 0;
    std::map<std::uint64_t, std::unique_ptr<std::uint8_t[]>> chunks;
    std::uint64_t last_chunk = UINT64_MAX;
    std::uint8_t* last = nullptr;
  };
  void grow(std::span<const RamBlock> blocks);
  std::uint8_t* chunk(Block& b, std::uint64_t index);

  std::uint64_t max_cells_;
  std::vector<Block> blocks_;  // like the block table (names copied: they are views into the walked bytes)
};

}  // namespace migscope
