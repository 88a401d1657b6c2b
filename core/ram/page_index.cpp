#include "ram/page_index.h"

#include <cstring>

#include <zlib.h>

#include "ram/xbzrle.h"

namespace migscope {

PageIndex::PageIndex(Bytes file, std::uint64_t spill_pages) : base_(file.data()), spill_pages_(spill_pages), page_size_(4096) {}

Status PageIndex::on_ram_blocks(const SectionInfo&, std::span<const RamBlock> blocks) {
  if (blocks_.empty() && !blocks.empty()) {
    page_size_ = blocks[0].target_page_size;
    zero_.assign(static_cast<std::size_t>(page_size_), std::byte{0});
  }
  for (std::size_t i = blocks_.size(); i < blocks.size(); ++i) {
    const RamBlock& rb = blocks[i];
    Block b;
    b.info.name = std::string(rb.name);
    b.info.length = rb.length;
    b.info.guest_addr = rb.guest_addr;
    b.info.pages = rb.length / page_size_ + (rb.length % page_size_ ? 1 : 0);
    total_pages_ += b.info.pages;
    if (b.info.pages > kMaxPages || total_pages_ > kMaxPages)
      return make_error(ErrorCode::unsupported, rb.header_offset,
                        "RAM block '" + b.info.name + "' of " + std::to_string(rb.length) +
                            " bytes brings the RAM to more than migscope can index (16 TiB of 4 KiB pages)");
    // A large guest's entries go to a temporary file (none to be had: the heap).
    if (!arena_ && total_pages_ > spill_pages_) arena_ = ChunkArena::create(kTrimEvery);
    if (!b.entries.allocate(b.info.pages, arena_))
      return make_error(ErrorCode::unsupported, rb.header_offset,
                        "cannot reserve the page index of RAM block '" + b.info.name + "'");
    blocks_.push_back(std::move(b));
  }
  return {};
}

Status PageIndex::set(Block& b, std::uint64_t page, std::uint64_t entry) {
  std::uint64_t* e = b.entries.ref(page);
  if (!e) return make_error(ErrorCode::unsupported, Error::no_offset, "cannot grow the page index of block '" + b.info.name + "' (out of memory" +
                                     std::string(arena_ ? ", or of space in $TMPDIR" : "") + ")");
  *e = entry;
  return {};
}

Status PageIndex::on_pages(std::span<const RamBlock>, std::span<const PageRecord> pages) {
  for (const PageRecord& r : pages) {
    Block& b = blocks_[r.block];
    const std::uint64_t page = r.offset / page_size_;
    const std::uint64_t payload = static_cast<std::uint64_t>(r.payload.data() - base_);
    switch (r.kind) {
      case PageKind::zero:
        MIGSCOPE_TRY(set(b, page, PageEntry::make(PageEntry::zero, r.fill)));
        break;
      case PageKind::page:
        MIGSCOPE_TRY(set(b, page, PageEntry::make(PageEntry::page, payload)));
        break;
      case PageKind::mapped:
        MIGSCOPE_TRY(set(b, page, PageEntry::make(PageEntry::mapped, payload)));
        break;
      case PageKind::compressed:
        MIGSCOPE_TRY(set(b, page, PageEntry::make(PageEntry::compressed, payload)));
        break;
      case PageKind::xbzrle: {
        XbzrleLink link;
        link.delta_offset = payload;
        link.delta_length = static_cast<std::uint16_t>(r.payload.size());
        link.previous = b.entries.get(page);
        MIGSCOPE_TRY(set(b, page, PageEntry::make(PageEntry::xbzrle, links_.size())));
        links_.push_back(link);
        break;
      }
    }
  }
  return {};
}

Status PageIndex::on_ram_discard(std::span<const RamBlock>, const RamDiscard& d) {
  Block& b = blocks_[d.block];
  for (const RamDiscard::Range& r : d.ranges) {
    // A discarded page reads as zero until it is sent again; only touched
    // chunks hold entries, and only those are visited.
    const std::uint64_t first = r.start / page_size_, end = (r.start + r.length + page_size_ - 1) / page_size_;
    for (std::uint64_t chunk = index_next(b, first / kChunkPages); chunk != UINT64_MAX && chunk * kChunkPages < end;
         chunk = index_next(b, chunk + 1)) {
      const std::uint64_t lo = std::max(first, chunk * kChunkPages), hi = std::min(end, (chunk + 1) * kChunkPages);
      for (std::uint64_t page = lo; page < hi; ++page)
        if (b.entries.get(page) != 0) *b.entries.ref(page) = PageEntry::make(PageEntry::zero, 0);
    }
  }
  return {};
}

std::uint64_t PageIndex::index_next(const Block& b, std::uint64_t chunk) { return b.entries.next_allocated(chunk); }

PageResolver::PageResolver(Bytes file, const PageIndex& index)
    : file_(file), index_(index), page_size_(index.page_size()) {}

struct PageResolver::Inflater {
  z_stream zs{};
  ~Inflater() { inflateEnd(&zs); }
};

PageResolver::~PageResolver() = default;

Status PageResolver::inflate_page(std::uint64_t payload_offset, std::byte* out) {
  if (!inflater_) {
    auto fresh = std::make_unique<Inflater>();
    if (inflateInit(&fresh->zs) != Z_OK) return make_error(ErrorCode::io, payload_offset, "zlib: inflateInit failed");
    inflater_ = std::move(fresh);
  } else {
    inflateReset(&inflater_->zs);
  }
  z_stream& zs = inflater_->zs;
  // The be32 length sits right before the payload; the walker checked it.
  std::uint32_t len = load_be32(file_.data() + payload_offset - 4);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(file_.data() + payload_offset));
  zs.avail_in = len;
  zs.next_out = reinterpret_cast<Bytef*>(out);
  zs.avail_out = static_cast<uInt>(page_size_);
  int rc = inflate(&zs, Z_FINISH);
  if (rc != Z_STREAM_END || zs.total_out != page_size_)
    return make_error(ErrorCode::corrupt, payload_offset,
                      "compressed page does not inflate to exactly one page (zlib: " +
                          std::string(zs.msg ? zs.msg : rc == Z_STREAM_END ? "short output" : "incomplete stream") + ")");
  return {};
}

Status PageResolver::materialize(std::uint64_t entry, std::byte* out) {
  switch (PageEntry::kind(entry)) {
    case PageEntry::none:
      std::memset(out, 0, page_size_);
      return {};
    case PageEntry::zero:
      std::memset(out, static_cast<int>(PageEntry::value(entry) & 0xff), page_size_);
      return {};
    case PageEntry::page:
    case PageEntry::mapped:
      std::memcpy(out, file_.data() + PageEntry::value(entry), page_size_);
      return {};
    case PageEntry::compressed:
      return inflate_page(PageEntry::value(entry), out);
    case PageEntry::xbzrle:
      break;
  }
  // Walk back to the first version that is not a delta, then apply the deltas oldest first.
  const auto& links = index_.xbzrle_links();
  chain_.clear();
  std::uint64_t e = entry;
  while (PageEntry::kind(e) == PageEntry::xbzrle) {
    auto idx = static_cast<std::uint32_t>(PageEntry::value(e));
    chain_.push_back(idx);
    e = links[idx].previous;
  }
  MIGSCOPE_TRY(materialize(e, out));
  for (auto it = chain_.rbegin(); it != chain_.rend(); ++it) {
    const XbzrleLink& l = links[*it];
    MIGSCOPE_TRY(xbzrle_decode(file_.subspan(l.delta_offset, l.delta_length), {out, page_size_}, l.delta_offset));
  }
  return {};
}

Result<const std::byte*> PageResolver::resolve(std::uint64_t entry, std::byte* scratch) {
  switch (PageEntry::kind(entry)) {
    case PageEntry::none:
      return zero_page();
    case PageEntry::zero:
      if ((PageEntry::value(entry) & 0xff) == 0) return zero_page();
      break;
    case PageEntry::page:
    case PageEntry::mapped:
      return file_.data() + PageEntry::value(entry);
    default:
      break;
  }
  MIGSCOPE_TRY(materialize(entry, scratch));
  return static_cast<const std::byte*>(scratch);
}

}  // namespace migscope
