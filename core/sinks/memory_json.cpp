#include "sinks/memory_json.h"

#include <cstdio>

#include "sinks/state_json.h"

namespace migscope {

MemoryJson::MemoryJson(json::PyWriter& w, Bytes file, PageIndex& index)
    : w_(w), index_(index), resolver_(file, index), scratch_(index.page_size()) {}

Status MemoryJson::on_pages(std::span<const RamBlock> blocks, std::span<const PageRecord> pages) {
  const std::uint64_t ps = index_.page_size();
  for (const PageRecord& r : pages) {
    const std::uint64_t page = r.offset / ps;
    if (!index_.mark_once(r.block, page)) continue;
    const RamBlock& b = blocks[r.block];
    char addr[32];
    std::snprintf(addr, sizeof addr, " (0x%016llx)", static_cast<unsigned long long>(r.offset));
    text_.assign(b.name);
    text_ += addr;
    w_.key(text_);
    const std::uint64_t entry = index_.entry(r.block, page);
    if (PageEntry::kind(entry) == PageEntry::zero) {
      std::snprintf(addr, sizeof addr, "Filled with 0x%02x", static_cast<unsigned>(PageEntry::value(entry) & 0xff));
      w_.string(addr);
      continue;
    }
    MIGSCOPE_ASSIGN(const std::byte* content, resolver_.resolve(entry, scratch_.data()));
    text_.clear();
    format_hex_bytes(text_, Bytes{content, static_cast<std::size_t>(ps)});
    w_.string(text_);
  }
  return {};
}

}  // namespace migscope
