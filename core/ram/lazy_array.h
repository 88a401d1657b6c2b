// A zero-initialised array of 64-bit values, allocated in 4 KiB chunks on
// first write: entries never written cost no memory and no address space
// beyond an 8-byte slot per 512 entries, so one entry per guest page stays
// cheap for sparse or huge blocks (even under a virtual-memory limit). With a
// ChunkArena the chunks live in a temporary file instead of the heap, and the
// resident set is trimmed as the users move from chunk to chunk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <set>
#include <utility>
#include <vector>

#include "ram/chunk_arena.h"

namespace migscope {

class LazyArray {
 public:
  static constexpr std::uint64_t kChunk = 512;  // entries per chunk (4 KiB)
  static_assert(kChunk * sizeof(std::uint64_t) == ChunkArena::kChunkBytes);

  LazyArray() = default;
  ~LazyArray() { free_chunks(); }
  LazyArray(LazyArray&& o) noexcept
      : chunks_(std::move(o.chunks_)), allocated_(std::move(o.allocated_)), arena_(std::move(o.arena_)),
        last_chunk_(o.last_chunk_) {
    o.chunks_.clear();
  }
  LazyArray& operator=(LazyArray&& o) noexcept {
    if (this != &o) {
      free_chunks();
      chunks_ = std::move(o.chunks_);
      allocated_ = std::move(o.allocated_);
      arena_ = std::move(o.arena_);
      last_chunk_ = o.last_chunk_;
      o.chunks_.clear();
    }
    return *this;
  }
  LazyArray(const LazyArray&) = delete;
  LazyArray& operator=(const LazyArray&) = delete;

  /// Size for `n` entries; false if even the chunk table cannot be had.
  /// With `arena`, chunks come from it (shared by the arrays of one index).
  bool allocate(std::uint64_t n, std::shared_ptr<ChunkArena> arena = nullptr) {
    free_chunks();
    chunks_.clear();
    allocated_.clear();
    arena_ = std::move(arena);
    try {
      chunks_.resize(static_cast<std::size_t>((n + kChunk - 1) / kChunk), nullptr);
    } catch (const std::bad_alloc&) {
      return false;
    }
    return true;
  }
  std::uint64_t get(std::uint64_t i) const noexcept {
    const std::uint64_t* c = chunks_[static_cast<std::size_t>(i / kChunk)];
    return c ? c[i % kChunk] : 0;
  }
  /// A reference to entry `i`, allocating its chunk; null if memory ran out.
  std::uint64_t* ref(std::uint64_t i) noexcept {
    const std::uint64_t chunk = i / kChunk;
    std::uint64_t*& c = chunks_[static_cast<std::size_t>(chunk)];
    if (!c) {
      c = arena_ ? arena_->allocate() : new (std::nothrow) std::uint64_t[kChunk]();
      if (!c) return nullptr;
      try {
        allocated_.insert(chunk);
      } catch (...) {
        return nullptr;  // the chunk stays (it is freed with the array) but is not listed
      }
    }
    if (arena_ && chunk != last_chunk_) {
      last_chunk_ = chunk;
      arena_->note_switch();
    }
    return &c[i % kChunk];
  }
  /// A reader moving through the array in order may call this per chunk, so
  /// that with an arena its reads too stay within the resident budget.
  void note_read_chunk() const noexcept {
    if (arena_) arena_->note_switch();
  }
  bool chunk_allocated(std::uint64_t chunk) const noexcept { return chunks_[static_cast<std::size_t>(chunk)] != nullptr; }
  /// The first allocated chunk at or after `chunk`, or UINT64_MAX: walks over
  /// huge sparse ranges cost what was written, not what was declared.
  std::uint64_t next_allocated(std::uint64_t chunk) const {
    auto it = allocated_.lower_bound(chunk);
    return it == allocated_.end() ? UINT64_MAX : *it;
  }

 private:
  void free_chunks() noexcept {
    if (arena_) return;  // the arena's file holds them
    for (std::uint64_t* c : chunks_) delete[] c;
  }

  std::vector<std::uint64_t*> chunks_;
  std::set<std::uint64_t> allocated_;
  std::shared_ptr<ChunkArena> arena_;
  std::uint64_t last_chunk_ = UINT64_MAX;
};

}  // namespace migscope
