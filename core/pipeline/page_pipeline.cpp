#include "pipeline/page_pipeline.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "input/input.h"

namespace migscope {

PagePipeline::PagePipeline(Bytes file, const PageIndex& index, unsigned threads)
    : file_(file), index_(index), threads_(threads == 0 ? 1 : threads), releaser_(file) {}

bool PagePipeline::next_batch(PageBatch& b) {
  b.pages.clear();
  while (cur_block_ < index_.block_count()) {
    if (cur_block_ < skip_.size() && skip_[cur_block_]) {
      ++cur_block_;
      cur_page_ = 0;
      continue;
    }
    const std::uint64_t pages = index_.block(cur_block_).pages;
    while (cur_page_ < pages && b.pages.size() < kBatchPages) {
      const std::uint64_t chunk = cur_page_ / PageIndex::kChunkPages;
      if (cur_page_ % PageIndex::kChunkPages == 0) index_.note_read_chunk(cur_block_);
      if (!index_.chunk_touched(cur_block_, chunk)) {
        const std::uint64_t next = index_.next_touched_chunk(cur_block_, chunk);
        cur_page_ = next == UINT64_MAX ? pages : next * PageIndex::kChunkPages;
        continue;
      }
      if (index_.entry(cur_block_, cur_page_) != 0) b.pages.push_back(cur_page_);
      ++cur_page_;
    }
    if (!b.pages.empty()) {
      b.block = static_cast<std::uint32_t>(cur_block_);
      if (cur_page_ >= pages) {
        ++cur_block_;
        cur_page_ = 0;
      }
      return true;
    }
    ++cur_block_;
    cur_page_ = 0;
  }
  return false;
}

void PagePipeline::release(const PageBatch& b) {
  if (!release_) return;
  const std::byte* lo = nullptr;
  const std::byte* hi = nullptr;
  const std::byte* begin = file_.data();
  const std::byte* end = begin + file_.size();
  for (const std::byte* p : b.content) {
    if (p < begin || p >= end) continue;  // decoded into scratch, or the zero page
    if (!lo || p < lo) lo = p;
    if (!hi || p > hi) hi = p;
  }
  if (!lo) return;
  // The batch's own range, and everything well behind the furthest point
  // reached: per-batch ranges alone leak their boundary pages, and fault-around
  // maps back released pages just behind a new fault.
  release_mapped_range(file_, static_cast<std::uint64_t>(lo - begin), static_cast<std::uint64_t>(hi - begin));
  releaser_.advance(static_cast<std::uint64_t>(hi - begin));
}

Status PagePipeline::resolve(PageBatch& b, PageResolver& resolver) {
  const std::uint64_t ps = index_.page_size();
  b.content.resize(b.pages.size());
  b.values.resize(b.pages.size());
  if (b.scratch.size() < b.pages.size() * ps) b.scratch.resize(kBatchPages * ps);
  for (std::size_t i = 0; i < b.pages.size(); ++i) {
    MIGSCOPE_ASSIGN(b.content[i], resolver.resolve(index_.entry(b.block, b.pages[i]), b.scratch.data() + i * ps));
  }
  return {};
}

Status PagePipeline::run(const Work& work, const Consume& consume) {
  cur_block_ = 0;
  cur_page_ = 0;
  if (threads_ <= 1) {
    PageResolver resolver(file_, index_);
    PageBatch b;
    while (next_batch(b)) {
      MIGSCOPE_TRY(resolve(b, resolver));
      MIGSCOPE_TRY(work(b));
      MIGSCOPE_TRY(consume(b));
      release(b);
    }
    return {};
  }

  // A ring of batch slots; sequence number s lives in slot s % ring. The
  // calling thread consumes in order; it is one of the `threads_` threads, so
  // threads_ - 1 workers resolve and work (on 2 cores: one worker hashing
  // pages while the consumer streams the block hash and writes lines).
  struct Slot {
    PageBatch batch;
    bool ready = false;
    bool last = false;  // the producer ran dry at this sequence number
    Status status;
  };
  const unsigned workers = threads_ - 1;
  const std::size_t ring = static_cast<std::size_t>(workers) * 2 + 2;
  std::vector<std::unique_ptr<Slot>> slots;
  for (std::size_t i = 0; i < ring; ++i) slots.push_back(std::make_unique<Slot>());
  std::mutex mu;
  std::condition_variable space;  // workers wait for a free slot
  std::condition_variable ready;  // the consumer waits for its next slot
  std::uint64_t next_seq = 0, consumed = 0;
  bool exhausted = false, abort = false;

  auto worker = [&] {
    PageResolver resolver(file_, index_);
    for (;;) {
      Slot* slot;
      {
        std::unique_lock lock(mu);
        space.wait(lock, [&] { return exhausted || abort || next_seq - consumed < ring; });
        if (exhausted || abort) return;
        const std::uint64_t seq = next_seq++;
        slot = slots[seq % ring].get();
        if (!next_batch(slot->batch)) {
          exhausted = true;
          slot->last = true;
          slot->ready = true;
          ready.notify_one();
          space.notify_all();  // the other workers stop too
          return;
        }
      }
      Status st = resolve(slot->batch, resolver);
      if (st.ok()) st = work(slot->batch);
      {
        std::lock_guard lock(mu);
        slot->status = std::move(st);
        slot->ready = true;
      }
      ready.notify_one();
    }
  };

  std::vector<std::thread> pool;
  for (unsigned i = 0; i < workers; ++i) pool.emplace_back(worker);
  Status result;
  for (;;) {
    Slot* slot = slots[consumed % ring].get();
    {
      std::unique_lock lock(mu);
      ready.wait(lock, [&] { return slot->ready; });
    }
    if (slot->last) break;
    Status st = slot->status;
    if (st.ok()) st = consume(slot->batch);
    if (!st.ok()) {
      result = std::move(st);
      break;
    }
    release(slot->batch);
    {
      std::lock_guard lock(mu);
      slot->ready = false;
      ++consumed;
    }
    space.notify_one();
  }
  {
    std::lock_guard lock(mu);
    abort = true;
  }
  space.notify_all();
  for (auto& t : pool) t.join();
  return result;
}

}  // namespace migscope
