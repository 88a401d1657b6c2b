#include "sinks/extractor.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>


namespace migscope {

Result<BlockTarget> DirPageTarget::open_block(const RamBlock& block, ExtractedBlock& record) {
  record.relative_path = safe_relative_path(record.name);
  MIGSCOPE_TRY(dir_.reserve(record.relative_path));
  MIGSCOPE_ASSIGN(int fd, dir_.create(record.relative_path, block.length));
  BlockTarget t;
  t.fd = fd;
  t.name = dir_.path() + "/" + record.relative_path;
  t.pieces.push_back({0, block.length, 0, false});
  return t;
}

Error StreamingExtractor::write_error(std::uint32_t block) const {
  return make_error(ErrorCode::io, Error::no_offset, "cannot write " + targets_[block].name + ": " + std::strerror(errno));
}

const BlockTarget::Piece* StreamingExtractor::piece_at(std::uint32_t block, std::uint64_t offset) const noexcept {
  for (const BlockTarget::Piece& p : targets_[block].pieces)
    if (offset >= p.begin && offset < p.end) return &p;
  return nullptr;
}

template <typename Fn>
Status StreamingExtractor::for_each_piece(std::uint32_t block, std::uint64_t offset, std::uint64_t n, Fn&& fn) {
  for (std::uint64_t at = offset; at < offset + n;) {
    const BlockTarget::Piece* p = piece_at(block, at);
    if (!p) break;
    const std::uint64_t take = std::min(offset + n, p->end) - at;
    if (!p->dropped) MIGSCOPE_TRY(fn(p->file_offset + (at - p->begin), at - offset, take));
    at += take;
  }
  return {};
}

StreamingExtractor::StreamingExtractor(Bytes file, const PageIndex& index, PageTarget& target, bool threaded, bool release_behind)
    : file_(file), index_(index), target_(target), release_behind_(release_behind), releaser_(file), resolver_(file, index),
      writer_([this](Batch& b) { return write_batch(b); }, threaded) {}

StreamingExtractor::~StreamingExtractor() { (void)writer_.finish(); }

Status StreamingExtractor::on_ram_blocks(const SectionInfo&, std::span<const RamBlock> blocks) {
  const std::uint64_t ps = index_.page_size();
  for (std::size_t i = blocks_.size(); i < blocks.size(); ++i) {
    ExtractedBlock b;
    b.name = std::string(blocks[i].name);
    b.length = blocks[i].length;
    MIGSCOPE_ASSIGN(BlockTarget t, target_.open_block(blocks[i], b));
    LazyArray bits;
    const std::uint64_t pages = b.length / ps + (b.length % ps ? 1 : 0);
    if (!bits.allocate((pages + 63) / 64))
      return make_error(ErrorCode::unsupported, blocks[i].header_offset, "out of memory for block '" + b.name + "'");
    // The writer reads these; it is idle while blocks are announced (START).
    MIGSCOPE_TRY(writer_.wait_idle());
    blocks_.push_back(std::move(b));
    targets_.push_back(std::move(t));
    written_.push_back(std::move(bits));
  }
  return {};
}

Status StreamingExtractor::on_pages(std::span<const RamBlock>, std::span<const PageRecord> pages) {
  if (pages.empty()) return {};
  const std::uint64_t ps = index_.page_size();
  // The index has taken this batch already: its XBZRLE records are the last links.
  std::size_t link = index_.xbzrle_links().size();
  for (const PageRecord& r : pages) link -= r.kind == PageKind::xbzrle;
  for (const PageRecord& r : pages) {
    Write w{r.block, r.offset / ps, nullptr, Write::kInput};
    const auto payload = static_cast<std::uint64_t>(r.payload.data() - file_.data());
    std::uint64_t entry = 0;
    switch (r.kind) {
      case PageKind::zero:
        if (r.fill == 0) w.decoded = Write::kHole;
        entry = PageEntry::make(PageEntry::zero, r.fill);
        break;
      case PageKind::page:
      case PageKind::mapped:
        w.content = r.payload.data();
        break;
      case PageKind::compressed:
        entry = PageEntry::make(PageEntry::compressed, payload);
        break;
      case PageKind::xbzrle:
        entry = PageEntry::make(PageEntry::xbzrle, link++);
        break;
    }
    if (w.decoded == Write::kInput && !w.content) {
      // This version's bytes must be produced now, against the versions before it.
      const std::size_t off = filling_.decoded.size();
      filling_.decoded.resize(off + static_cast<std::size_t>(ps));
      MIGSCOPE_ASSIGN(const std::byte* p, resolver_.resolve(entry, filling_.decoded.data() + off));
      if (p != filling_.decoded.data() + off) std::memcpy(filling_.decoded.data() + off, p, static_cast<std::size_t>(ps));
      w.decoded = off;
    }
    filling_.writes.push_back(w);
  }
  return hand_over(pages.back().file_offset);
}

Status StreamingExtractor::on_ram_discard(std::span<const RamBlock>, const RamDiscard& d) {
  // Discarded pages read as zero until sent again: punch them out of the files.
  MIGSCOPE_TRY(hand_over(d.offset));
  MIGSCOPE_TRY(writer_.wait_idle());
  const std::uint64_t ps = index_.page_size();
  const std::uint32_t b = d.block;
  for (const RamDiscard::Range& r : d.ranges) {
    const std::uint64_t first = r.start / ps;
    const std::uint64_t end = first + (r.length + ps - 1) / ps;
    // Visit only pages whose bit words exist (something was written there).
    for (std::uint64_t chunk = written_[b].next_allocated(first / 64 / LazyArray::kChunk);
         chunk != UINT64_MAX && chunk * LazyArray::kChunk * 64 < end; chunk = written_[b].next_allocated(chunk + 1)) {
      const std::uint64_t lo = std::max(first, chunk * LazyArray::kChunk * 64);
      const std::uint64_t hi = std::min(end, (chunk + 1) * LazyArray::kChunk * 64);
      for (std::uint64_t page = lo; page < hi; ++page) MIGSCOPE_TRY(punch(b, page));
    }
  }
  return {};
}

Status StreamingExtractor::punch(std::uint32_t block, std::uint64_t page) {
  if (((written_[block].get(page / 64) >> (page % 64)) & 1) == 0) return {};
  const std::uint64_t ps = index_.page_size();
  const std::uint64_t offset = page * ps;
  const std::uint64_t n = std::min<std::uint64_t>(ps, blocks_[block].length - offset);
  MIGSCOPE_TRY(for_each_piece(block, offset, n, [&](std::uint64_t to, std::uint64_t, std::uint64_t len) {
    return punch_range(block, to, len);
  }));
  *written_[block].ref(page / 64) &= ~(std::uint64_t{1} << (page % 64));
  return {};
}

Status StreamingExtractor::punch_range(std::uint32_t block, std::uint64_t offset, std::uint64_t n) {
  const int fd = targets_[block].fd;
  if (::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset), static_cast<off_t>(n)) != 0) {
    // No hole punching here (some filesystems): write zeros instead.
    if (zeros_.size() < n) zeros_.assign(static_cast<std::size_t>(n), std::byte{0});
    if (!pwrite_all(fd, zeros_.data(), static_cast<std::size_t>(n), offset))
      return write_error(block);
  }
  return {};
}

Status StreamingExtractor::write_split_page(std::uint32_t block, std::uint64_t offset, const std::byte* data, std::uint64_t n) {
  // A page across the boundary of two pieces (never for page-aligned layouts).
  return for_each_piece(block, offset, n, [&](std::uint64_t to, std::uint64_t from, std::uint64_t len) -> Status {
    if (!pwrite_all(targets_[block].fd, data + from, static_cast<std::size_t>(len), to))
      return write_error(block);
    return {};
  });
}

Status StreamingExtractor::write_batch(Batch& b) {
  const std::uint64_t ps = index_.page_size();
  // Runs of consecutive pages of a block go out in one pwritev: the page
  // cache then takes them in large folios (as `cp` gets them) instead of one
  // 4 KiB folio and one syscall per page.
  std::size_t i = 0;
  while (i < b.writes.size()) {
    const Write& first = b.writes[i];
    if (first.decoded == Write::kHole) {
      MIGSCOPE_TRY(punch(first.block, first.page));
      ++i;
      continue;
    }
    const std::uint64_t length = blocks_[first.block].length;
    // A run stays inside one piece of the block's target.
    const BlockTarget::Piece* piece = piece_at(first.block, first.page * ps);
    const std::uint64_t first_n = std::min<std::uint64_t>(ps, length - first.page * ps);
    const bool split = !piece || first.page * ps + first_n > piece->end;
    const std::uint64_t run_limit = split ? 0 : piece->end;
    std::size_t run = 0;
    std::uint64_t bytes = 0;
    while (i + run < b.writes.size() && run < kMaxRun) {
      const Write& w = b.writes[i + run];
      if (w.decoded == Write::kHole || w.block != first.block || w.page != first.page + run) break;
      const std::uint64_t n = std::min<std::uint64_t>(ps, length - w.page * ps);  // a block may end mid-page
      if (w.page * ps + n > run_limit) break;
      iov_[run].iov_base = const_cast<std::byte*>(w.decoded == Write::kInput ? w.content : b.decoded.data() + w.decoded);
      iov_[run].iov_len = static_cast<std::size_t>(n);
      bytes += n;
      ++run;
    }
    if (split) {
      const std::byte* data = first.decoded == Write::kInput ? first.content : b.decoded.data() + first.decoded;
      MIGSCOPE_TRY(write_split_page(first.block, first.page * ps, data, first_n));
      run = 1;
    } else if (!piece->dropped) {
      MIGSCOPE_TRY(write_run(first.block, piece->file_offset + (first.page * ps - piece->begin), run, bytes));
    }
    for (std::size_t k = 0; k < run; ++k) {
      const std::uint64_t page = first.page + k;
      std::uint64_t* bits = written_[first.block].ref(page / 64);
      if (!bits) return make_error(ErrorCode::unsupported, Error::no_offset, "out of memory while extracting");
      *bits |= std::uint64_t{1} << (page % 64);
    }
    blocks_[first.block].pages_written += run;
    i += run;
  }
  return {};
}

Status StreamingExtractor::write_run(std::uint32_t block, std::uint64_t offset, std::size_t count, std::uint64_t bytes) {
  // pwritev may write less than asked: go on from where it stopped.
  struct iovec* iov = iov_.data();
  while (bytes > 0) {
    ssize_t r = ::pwritev(targets_[block].fd, iov, static_cast<int>(count), static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      return write_error(block);
    }
    if (r == 0) {
      errno = EIO;
      return write_error(block);
    }
    auto done = static_cast<std::uint64_t>(r);
    offset += done;
    bytes -= done;
    while (count > 0 && done >= iov->iov_len) {
      done -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0 && done > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + done;
      iov->iov_len -= static_cast<std::size_t>(done);
    }
  }
  return {};
}

Status StreamingExtractor::hand_over(std::uint64_t end) {
  MIGSCOPE_ASSIGN(std::uint64_t done, writer_.hand_over(filling_, end));
  filling_.writes.clear();
  filling_.decoded.clear();
  // Only what has been written out may leave the resident set.
  if (release_behind_) releaser_.advance(done);
  return {};
}

Status StreamingExtractor::finish() { return writer_.finish(); }

}  // namespace migscope
