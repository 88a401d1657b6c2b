#include "sinks/inorder_hasher.h"


#include <xxh_x86dispatch.h>


namespace migscope {

namespace {
constexpr unsigned kHelpers = 2;
}  // namespace

InOrderHasher::InOrderHasher(Bytes file, bool threaded, bool release_behind)
    : file_(file), release_behind_(release_behind),
      releaser_(file, threaded && release_behind ? kHelpers : 0),
      worker_([this](std::vector<Job>& jobs) { return hash_jobs(jobs); }, threaded) {}

InOrderHasher::~InOrderHasher() {
  (void)worker_.finish();
  for (auto& b : blocks_) {
    if (b.state) XXH3_freeState(b.state);
    if (b.hashes) std::fclose(b.hashes);
  }
}

Status InOrderHasher::on_ram_blocks(const SectionInfo&, std::span<const RamBlock> blocks) {
  MIGSCOPE_TRY(worker_.wait_idle());  // the worker reads blocks_
  if (blocks.empty()) return {};
  if (page_size_ == 0) {
    page_size_ = blocks[0].target_page_size;  // the stream's, as in every block
    zero_.assign(static_cast<std::size_t>(page_size_), std::byte{0});
    zero_page_hash_ = XXH3_64bits(zero_.data(), zero_.size());
    if (page_size_ == 4096) kernel_.page(zero_.data(), zero_page_sums_);
  }
  const std::uint64_t ps = page_size_;
  for (std::size_t i = blocks_.size(); i < blocks.size(); ++i) {
    Block b;
    b.length = blocks[i].length;
    b.pages = b.length / ps + (b.length % ps ? 1 : 0);
    b.whole_pages = ps == 4096 && b.length % 4096 == 0 && b.length > 0;
    b.state = XXH3_createState();
    if (!b.state) return make_error(ErrorCode::unsupported, blocks[i].header_offset, "cannot allocate hashing state");
    XXH3_128bits_reset(b.state);
    blocks_.push_back(std::move(b));
  }
  return {};
}

Status InOrderHasher::on_ram_discard(std::span<const RamBlock>, const RamDiscard&) {
  // A discarded page changes after it was hashed: its block takes the second pass.
  for (auto& b : blocks_) b.in_order = false;
  return {};
}

Status InOrderHasher::on_pages(std::span<const RamBlock>, std::span<const PageRecord> pages) {
  const std::uint64_t ps = page_size_;
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
  if (pages.empty()) return {};
  // Both hashes of a page are computed in one pass over it: inline without
  // threads, else on the worker while the walk goes on. (Measured slower: the
  // walking thread taking that pass for every other page, 0.37 against 0.28 s;
  // or streaming the XXH3-128 while the worker does the XXH3-64s.)
  MIGSCOPE_ASSIGN(std::uint64_t done, worker_.hand_over(filling_, pages.back().file_offset));
  filling_.clear();
  // Only what the worker has finished may leave the resident set.
  if (release_behind_) releaser_.advance(done);
  return {};
}

void InOrderHasher::keep_hash(Block& b, std::uint64_t h) {
  b.pending.push_back(h);
  if (b.pending.size() == 8192 && !write_pending(b).ok()) b.hashes_lost = true;  // the second pass will do it
}

Status InOrderHasher::write_pending(Block& b) {
  if (b.pending.empty()) return {};
  if (!b.hashes) b.hashes = std::tmpfile();
  const bool ok = b.hashes && std::fwrite(b.pending.data(), sizeof b.pending[0], b.pending.size(), b.hashes) == b.pending.size();
  b.pending.clear();
  if (!ok) return make_error(ErrorCode::io, Error::no_offset, "cannot keep the page hashes (temporary file)");
  return {};
}

const std::byte* InOrderHasher::content_of(const PageRecord& r, std::vector<std::byte>& fill_page) const {
  if (r.kind != PageKind::zero) return r.payload.data();
  if (r.fill == 0) return zero_.data();
  // 7.2 loads a zero record with a non-zero fill as that byte repeated.
  fill_page.assign(static_cast<std::size_t>(page_size_), static_cast<std::byte>(r.fill));
  return fill_page.data();
}

Status InOrderHasher::hash_jobs(std::vector<Job>& jobs) {
  const std::uint64_t ps = page_size_;
  Xxh3PageSums sums;
  for (const Job& j : jobs) {
    Block& b = blocks_[j.block];
    const std::byte* content = content_of(j.record, fill_);
    const bool zero = j.record.kind == PageKind::zero && j.record.fill == 0;
    if (b.whole_pages) {
      if (j.page + 1 == b.pages) {  // the last page closes the block's stream
        keep_hash(b, zero ? zero_page_hash_ : XXH3_64bits(content, 4096));
        b.digest = b.stream.finish(content, b.length);
        b.digested = true;
      } else if (zero) {
        keep_hash(b, zero_page_hash_);
        b.stream.add(zero_page_sums_);
      } else {
        keep_hash(b, kernel_.page(content, sums));
        b.stream.add(sums);
      }
      continue;
    }
    // Pages of a block arrive in order here, so their hashes go to a
    // temporary file in order: memory does not grow with the guest.
    if (zero) keep_hash(b, zero_page_hash_);
    else keep_hash(b, XXH3_64bits(content, static_cast<std::size_t>(ps)));
    const std::uint64_t offset = j.page * ps;
    XXH3_128bits_update(b.state, content, static_cast<std::size_t>(std::min<std::uint64_t>(ps, b.length - offset)));
  }
  return {};
}

Status InOrderHasher::finish() {
  MIGSCOPE_TRY(worker_.finish());
  for (auto& b : blocks_) {
    if (!write_pending(b).ok()) b.hashes_lost = true;
    if (b.hashes_lost) b.in_order = false;  // the second pass will do it
  }
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
