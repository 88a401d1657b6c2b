#include "sinks/inorder_hasher.h"

#include <cstring>

#include <xxh_x86dispatch.h>

#include "stream/format.h"

namespace migscope {

InOrderHasher::InOrderHasher(Bytes file, PageIndex& index, bool threaded, bool release_behind)
    : file_(file), index_(index), release_behind_(release_behind), releaser_(file),
      worker_([this](std::vector<Job>& jobs) { return hash_jobs(jobs); }, threaded) {}

InOrderHasher::~InOrderHasher() {
  (void)worker_.finish();
  for (auto& b : blocks_) {
    if (b.state) XXH3_freeState(b.state);
    if (b.hashes) std::fclose(b.hashes);
  }
}

Status InOrderHasher::on_ram_blocks(const SectionInfo& s, std::span<const RamBlock> blocks) {
  MIGSCOPE_TRY(index_.on_ram_blocks(s, blocks));
  const std::uint64_t ps = index_.page_size();
  for (std::size_t i = blocks_.size(); i < blocks.size(); ++i) {
    Block b;
    b.length = blocks[i].length;
    b.pages = b.length / ps + (b.length % ps ? 1 : 0);
    b.state = XXH3_createState();
    if (!b.state) return make_error(ErrorCode::unsupported, blocks[i].header_offset, "cannot allocate hashing state");
    XXH3_128bits_reset(b.state);
    blocks_.push_back(std::move(b));
  }
  return {};
}

Status InOrderHasher::on_command(const Command& c) {
  // A discarded page changes after it was hashed: its block takes the second pass.
  if (c.cmd == wire::kCmdPostcopyRamDiscard)
    for (auto& b : blocks_) b.in_order = false;
  return index_.on_command(c);
}

Status InOrderHasher::on_pages(std::span<const RamBlock> blocks, std::span<const PageRecord> pages) {
  const std::uint64_t ps = index_.page_size();
  for (const PageRecord& r : pages) {
    Block& b = blocks_[r.block];
    if (!b.in_order) continue;
    const std::uint64_t page = r.offset / ps;
    const bool simple = r.kind == PageKind::zero || r.kind == PageKind::page || r.kind == PageKind::mapped;
    if (page != b.next_page || !simple) {
      b.in_order = false;  // re-sent, skipped ahead, or needs decoding against the past
      continue;
    }
    ++b.next_page;
    filling_.push_back(Job{r.block, page, r});
  }
  MIGSCOPE_TRY(index_.on_pages(blocks, pages));
  if (pages.empty()) return {};
  // Two hashes per page: the walk's thread does the per-page XXH3-64 (the
  // pages are hot, it just read their headers); the worker streams the
  // block's XXH3-128, which must see the pages in order.
  hash_pages64(filling_);
  MIGSCOPE_ASSIGN(std::uint64_t done, worker_.hand_over(filling_, pages.back().file_offset));
  filling_.clear();
  // Only what the worker has finished may leave the resident set.
  if (release_behind_) releaser_.advance(done);
  return {};
}

const std::byte* InOrderHasher::content_of(const PageRecord& r, std::vector<std::byte>& fill_page) const {
  if (r.kind != PageKind::zero) return r.payload.data();
  if (r.fill == 0) return index_.zero_page();
  // 7.2 loads a zero record with a non-zero fill as that byte repeated.
  fill_page.assign(static_cast<std::size_t>(index_.page_size()), static_cast<std::byte>(r.fill));
  return fill_page.data();
}

void InOrderHasher::hash_pages64(const std::vector<Job>& jobs) {
  const std::size_t ps = static_cast<std::size_t>(index_.page_size());
  // Pages of a block arrive in order here, so the hashes go to a temporary
  // file in order: memory does not grow with the guest (8 bytes per page).
  for (const Job& j : jobs) {
    Block& b = blocks_[j.block];
    if (!b.hashes) b.hashes = std::tmpfile();
    const std::uint64_t h = XXH3_64bits(content_of(j.record, fill_walker_), ps);
    if (!b.hashes || std::fwrite(&h, sizeof h, 1, b.hashes) != 1) b.in_order = false;  // the second pass will do it
  }
}

Status InOrderHasher::hash_jobs(std::vector<Job>& jobs) {
  const std::uint64_t ps = index_.page_size();
  for (const Job& j : jobs) {
    Block& b = blocks_[j.block];
    const std::uint64_t offset = j.page * ps;
    XXH3_128bits_update(b.state, content_of(j.record, fill_worker_),
                        static_cast<std::size_t>(std::min<std::uint64_t>(ps, b.length - offset)));
  }
  return {};
}

Status InOrderHasher::finish() {
  MIGSCOPE_TRY(worker_.finish());
  for (auto& b : blocks_)
    if (b.in_order && b.next_page == b.pages && !b.digested) {
      b.digest = XXH3_128bits_digest(b.state);
      b.digested = true;
    }
  return {};
}

Status InOrderHasher::read_page_hashes(std::size_t block,
                                       const std::function<void(std::uint64_t, std::uint64_t)>& fn) {
  Block& b = blocks_[block];
  if (b.pages == 0) return {};
  if (!b.hashes || std::fflush(b.hashes) != 0 || std::fseek(b.hashes, 0, SEEK_SET) != 0)
    return make_error(ErrorCode::io, Error::no_offset, "cannot read back the page hashes (temporary file)");
  std::uint64_t buf[512];
  for (std::uint64_t page = 0; page < b.pages;) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(512, b.pages - page));
    if (std::fread(buf, sizeof buf[0], want, b.hashes) != want)
      return make_error(ErrorCode::io, Error::no_offset, "cannot read back the page hashes (temporary file)");
    for (std::size_t i = 0; i < want; ++i) fn(page + i, buf[i]);
    page += want;
  }
  return {};
}

bool InOrderHasher::complete(std::size_t block) const {
  const Block& b = blocks_[block];
  return b.in_order && b.next_page == b.pages;
}

}  // namespace migscope
