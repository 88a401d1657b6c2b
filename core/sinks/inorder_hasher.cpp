#include "sinks/inorder_hasher.h"

#include <algorithm>

#include <xxh_x86dispatch.h>

namespace migscope {

namespace {
constexpr unsigned kHelpers = 2;
}  // namespace

InOrderHasher::InOrderHasher(Bytes file, bool threaded, bool release_behind)
    : file_(file), release_behind_(release_behind), threaded_(threaded),
      releaser_(file, threaded && release_behind ? kHelpers : 0) {
  for (std::size_t i = 0; i < (threaded ? kRing : 1); ++i) {
    ring_[i].jobs.resize(kChunkPages);
    ring_[i].hashes.resize(kChunkPages);
    ring_[i].sums.resize(kChunkPages);
  }
  if (threaded_) {
    try {
      worker_ = std::thread([this] { worker_loop(); });
    } catch (const std::system_error&) {
      threaded_ = false;  // no thread (resource limits): the walking thread hashes alone
    }
  }
}

InOrderHasher::~InOrderHasher() {
  if (worker_.joinable()) {
    {
      std::lock_guard lock(mu_);
      taken_ = published_;  // what nobody started stays unhashed: the input may be gone
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }
  for (auto& b : blocks_) {
    if (b.state) XXH3_freeState(b.state);
    if (b.hashes) std::fclose(b.hashes);
  }
}

Status InOrderHasher::on_ram_blocks(const SectionInfo&, std::span<const RamBlock> blocks) {
  if (filling_) publish(*filling_, filling_->end);
  if (threaded_) {  // the folding reads blocks_
    std::unique_lock lock(mu_);
    wait_folded(published_, lock);
  }
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
    order_.push_back(Order{0, b.pages, b.whole_pages, true});
    blocks_.push_back(std::move(b));
  }
  return {};
}

Status InOrderHasher::on_ram_discard(std::span<const RamBlock>, const RamDiscard&) {
  // A discarded page changes after it was hashed: its block takes the second pass.
  for (auto& o : order_) o.in_order = false;
  return {};
}

Status InOrderHasher::on_pages(std::span<const RamBlock>, std::span<const PageRecord> pages) {
  if (pages.empty()) return {};
  const std::uint64_t ps = page_size_;
  for (const PageRecord& r : pages) {
    Order& o = order_[r.block];
    if (!o.in_order) continue;
    const std::uint64_t page = r.offset / ps;
    const bool simple = r.kind == PageKind::zero || r.kind == PageKind::page || r.kind == PageKind::mapped;
    if (page != o.next_page || !simple) {
      o.in_order = false;  // re-sent, skipped ahead, or needs decoding against the past
      continue;
    }
    ++o.next_page;
    Chunk& c = filling_ ? *filling_ : open_chunk();
    if (c.count == 0) c.first = r.file_offset;
    c.jobs[c.count++] = Job{r.block, o.whole_pages, page + 1 == o.pages, page, r};
    c.data += r.kind != PageKind::zero;
    c.end = r.file_offset;
    if (c.count == kChunkPages) publish(c, r.file_offset);
  }
  const std::uint64_t batch_end = pages.back().file_offset;
  if (!threaded_) {
    if (filling_) publish(*filling_, batch_end);
    folded_end_ = batch_end;
    if (release_behind_) releaser_.advance(batch_end);
    return {};
  }
  std::unique_lock lock(mu_);
  // A chunk still filling goes out now if the worker would otherwise run
  // short of work, or if it holds pages a read-once window would drop.
  if (filling_ && (filling_->count >= kChunkPages / 4 || unstarted_data_ < kBacklogPages ||
                   (!release_behind_ && filling_->first + kOnceLag < batch_end))) {
    lock.unlock();
    publish(*filling_, batch_end);
    lock.lock();
  }
  if (!filling_ && folded_ == published_) folded_end_ = std::max(folded_end_, batch_end);
  // Hash beside the worker until it has only a short backlog left: it
  // hashes that while this thread walks the next batch.
  while (taken_ < published_ && unstarted_data_ - ring_[taken_ % kRing].data >= kBacklogPages)
    run(taken_++, walker_fill_, lock);
  if (!release_behind_) {
    while (folded_ < published_ && folded_end_ + kOnceLag < batch_end) wait_folded(folded_ + 1, lock);
  }
  const std::uint64_t done = folded_end_;
  lock.unlock();
  // Only what has been hashed may leave the resident set.
  if (release_behind_) releaser_.advance(done);
  return {};
}

InOrderHasher::Chunk& InOrderHasher::open_chunk() {
  if (threaded_) {
    std::unique_lock lock(mu_);
    if (published_ - folded_ == kRing) wait_folded(published_ - kRing + 1, lock);
  }
  Chunk& c = ring_[threaded_ ? published_ % kRing : 0];
  c.count = 0;
  c.data = 0;
  filling_ = &c;
  return c;
}

void InOrderHasher::publish(Chunk& c, std::uint64_t end) {
  filling_ = nullptr;
  c.end = end;
  if (!threaded_) {
    hash_chunk(c, walker_fill_);
    fold_chunk(c);
    return;
  }
  {
    std::lock_guard lock(mu_);
    c.hashed = false;
    unstarted_data_ += c.data;
    ++published_;
  }
  cv_.notify_all();
}

void InOrderHasher::run(std::uint64_t seq, std::vector<std::byte>& fill_page, std::unique_lock<std::mutex>& lock) {
  Chunk& c = ring_[seq % kRing];
  unstarted_data_ -= c.data;
  lock.unlock();
  hash_chunk(c, fill_page);
  lock.lock();
  c.hashed = true;
  if (folding_) return;  // the folding thread takes this chunk when its turn comes
  folding_ = true;
  while (folded_ < published_ && ring_[folded_ % kRing].hashed) {
    Chunk& f = ring_[folded_ % kRing];
    lock.unlock();
    fold_chunk(f);
    lock.lock();
    f.hashed = false;
    folded_end_ = std::max(folded_end_, f.end);
    ++folded_;
  }
  folding_ = false;
  cv_.notify_all();
}

void InOrderHasher::wait_folded(std::uint64_t seq, std::unique_lock<std::mutex>& lock) {
  while (folded_ < seq) {
    if (taken_ < published_) {
      run(taken_++, walker_fill_, lock);
    } else {
      cv_.wait(lock);
    }
  }
}

void InOrderHasher::worker_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || taken_ < published_; });
    if (taken_ < published_) {
      run(taken_++, worker_fill_, lock);
    } else if (stop_) {
      return;
    }
  }
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

void InOrderHasher::hash_chunk(Chunk& c, std::vector<std::byte>& fill_page) {
  // The one pass over each page's bytes: its XXH3-64 and, for the block
  // stream, its sums (not for the last page: the fold finishes with it whole).
  const std::size_t ps = static_cast<std::size_t>(page_size_);
  for (std::size_t i = 0; i < c.count; ++i) {
    const Job& j = c.jobs[i];
    if (j.record.kind == PageKind::zero && j.record.fill == 0) {
      c.hashes[i] = zero_page_hash_;
      continue;
    }
    const std::byte* content = content_of(j.record, fill_page);
    c.hashes[i] = j.whole && !j.last ? kernel_.page(content, c.sums[i]) : XXH3_64bits(content, ps);
  }
}

void InOrderHasher::fold_chunk(Chunk& c) {
  // Pages of a block arrive in order here, so their hashes go to a
  // temporary file in order: memory does not grow with the guest.
  const std::uint64_t ps = page_size_;
  for (std::size_t i = 0; i < c.count; ++i) {
    const Job& j = c.jobs[i];
    Block& b = blocks_[j.block];
    keep_hash(b, c.hashes[i]);
    const bool zero = j.record.kind == PageKind::zero && j.record.fill == 0;
    b.zero_pages += zero;
    if (j.whole && !j.last) {
      b.stream.add(zero ? zero_page_sums_ : c.sums[i]);
    } else if (j.whole) {  // the last page closes the block's stream
      b.digest = b.stream.finish(content_of(j.record, fold_fill_), b.length);
      b.digested = true;
    } else {
      const std::uint64_t offset = j.page * ps;
      XXH3_128bits_update(b.state, content_of(j.record, fold_fill_),
                          static_cast<std::size_t>(std::min<std::uint64_t>(ps, b.length - offset)));
    }
  }
}

Status InOrderHasher::finish() {
  if (filling_) publish(*filling_, filling_->end);
  if (threaded_) {
    std::unique_lock lock(mu_);
    wait_folded(published_, lock);
  }
  if (worker_.joinable()) {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }
  threaded_ = false;
  for (auto& b : blocks_) {
    if (!write_pending(b).ok()) b.hashes_lost = true;
  }
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    Block& b = blocks_[i];
    if (b.hashes_lost) order_[i].in_order = false;  // the second pass will do it
    if (order_[i].in_order && order_[i].next_page == b.pages && !b.digested) {
      b.digest = XXH3_128bits_digest(b.state);
      b.digested = true;
    }
  }
  return {};
}

Status InOrderHasher::read_page_hashes(std::size_t block,
                                       const std::function<void(std::uint64_t, std::span<const std::uint64_t>)>& fn) {
  Block& b = blocks_[block];
  if (b.pages == 0) return {};
  if (!b.hashes || std::fflush(b.hashes) != 0 || std::fseek(b.hashes, 0, SEEK_SET) != 0)
    return make_error(ErrorCode::io, Error::no_offset, "cannot read back the page hashes (temporary file)");
  std::uint64_t buf[512];
  for (std::uint64_t page = 0; page < b.pages;) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(512, b.pages - page));
    if (std::fread(buf, sizeof buf[0], want, b.hashes) != want)
      return make_error(ErrorCode::io, Error::no_offset, "cannot read back the page hashes (temporary file)");
    fn(page, {buf, want});
    page += want;
  }
  return {};
}

bool InOrderHasher::complete(std::size_t block) const {
  const Order& o = order_[block];
  return o.in_order && o.next_page == blocks_[block].pages;
}

}  // namespace migscope
