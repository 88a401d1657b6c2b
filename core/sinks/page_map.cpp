#include "sinks/page_map.h"

#include <algorithm>
#include <cstring>

namespace migscope {

namespace {

// A page's byte: the PageClass of its last record (zero, data, xbzrle or
// compressed) in the low bits, kSentBefore once a second record came.
constexpr std::uint8_t kSentBefore = 0x08;
constexpr std::uint8_t kLastMask = 0x07;

PageClass record_class(const PageRecord& p) noexcept {
  switch (p.kind) {
    case PageKind::zero: return p.fill == 0 ? PageClass::zero : PageClass::data;
    case PageKind::xbzrle: return PageClass::xbzrle;
    case PageKind::compressed: return PageClass::compressed;
    case PageKind::page:
    case PageKind::mapped: break;
  }
  return PageClass::data;
}

std::size_t page_class(std::uint8_t b) noexcept {
  const auto last = static_cast<PageClass>(b & kLastMask);
  if (last == PageClass::xbzrle || last == PageClass::compressed) return static_cast<std::size_t>(last);
  if (b & kSentBefore) return static_cast<std::size_t>(PageClass::resent);
  return static_cast<std::size_t>(last);
}

}  // namespace

void PageMapCollector::grow(std::span<const RamBlock> blocks) {
  for (std::size_t i = blocks_.size(); i < blocks.size(); ++i) {
    Block b;
    b.name.assign(blocks[i].name);
    b.length = blocks[i].length;
    b.page_size = blocks[i].target_page_size;
    if (b.page_size) b.pages = b.length / b.page_size + (b.length % b.page_size ? 1 : 0);
    blocks_.push_back(std::move(b));
  }
}

Status PageMapCollector::on_ram_blocks(const SectionInfo&, std::span<const RamBlock> blocks) {
  grow(blocks);
  return {};
}

std::uint8_t* PageMapCollector::chunk(Block& b, std::uint64_t index) {
  if (index == b.last_chunk) return b.last;
  auto& slot = b.chunks[index];
  if (!slot) {
    slot = std::make_unique<std::uint8_t[]>(std::size_t{1} << kChunkBits);  // zeroed: not sent
  }
  b.last_chunk = index;
  b.last = slot.get();
  return b.last;
}

Status PageMapCollector::on_pages(std::span<const RamBlock> blocks, std::span<const PageRecord> pages) {
  if (blocks_.size() < blocks.size()) grow(blocks);
  for (const PageRecord& p : pages) {
    if (p.block >= blocks_.size()) continue;
    Block& b = blocks_[p.block];
    if (b.page_size == 0) continue;
    const std::uint64_t page = p.offset / b.page_size;
    if (page >= b.pages) continue;  // (the walker checks offsets against the block)
    std::uint8_t* c = chunk(b, page >> kChunkBits);
    std::uint8_t& slot = c[page & ((std::uint64_t{1} << kChunkBits) - 1)];
    slot = static_cast<std::uint8_t>((slot != 0 ? kSentBefore : 0) | static_cast<std::uint8_t>(record_class(p)));
  }
  return {};
}

std::vector<BlockPageMap> PageMapCollector::maps() const {
  std::vector<BlockPageMap> out;
  out.reserve(blocks_.size());
  for (const Block& b : blocks_) {
    BlockPageMap m;
    m.name = b.name;
    m.length = b.length;
    m.page_size = b.page_size;
    m.pages = b.pages;
    if (b.pages == 0) {
      out.push_back(std::move(m));
      continue;
    }
    m.pages_per_cell = b.pages / max_cells_ + (b.pages % max_cells_ ? 1 : 0);
    const std::uint64_t ncells = b.pages / m.pages_per_cell + (b.pages % m.pages_per_cell ? 1 : 0);
    // Per cell, pages by class; all start as not sent, the chunks move them.
    std::vector<std::array<std::uint64_t, kPageClasses>> counts(ncells);
    for (std::uint64_t c = 0; c < ncells; ++c) {
      const std::uint64_t first = c * m.pages_per_cell;
      counts[c][0] = std::min(m.pages_per_cell, b.pages - first);
    }
    for (const auto& [index, bytes] : b.chunks) {
      const std::uint64_t base = index << kChunkBits;
      const std::uint64_t n = std::min<std::uint64_t>(std::uint64_t{1} << kChunkBits, b.pages - base);
      for (std::uint64_t i = 0; i < n; ++i) {
        if (bytes[i] == 0) continue;
        auto& cell = counts[(base + i) / m.pages_per_cell];
        --cell[0];
        ++cell[page_class(bytes[i])];
      }
    }
    m.cells.resize(2 * ncells);
    for (std::uint64_t c = 0; c < ncells; ++c) {
      const auto& cell = counts[c];
      std::uint64_t total = 0, sent = 0;
      for (std::size_t k = 0; k < kPageClasses; ++k) {
        m.pages_by_class[k] += cell[k];
        total += cell[k];
        if (k != 0) sent += cell[k];
      }
      std::size_t first = 0, second = 0;
      for (std::size_t k = 1; k < kPageClasses; ++k) {
        if (cell[k] == 0) continue;
        if (first == 0 || cell[k] > cell[first]) second = first, first = k;
        else if (second == 0 || cell[k] > cell[second]) second = k;
      }
      if (second != 0 && cell[second] * 8 < sent) second = 0;
      std::uint64_t share = sent == 0 ? 0 : (sent * 255 + total / 2) / total;
      if (sent != 0 && share == 0) share = 1;
      m.cells[2 * c] = static_cast<std::uint8_t>(first | (second << 4));
      m.cells[2 * c + 1] = static_cast<std::uint8_t>(share);
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace migscope
