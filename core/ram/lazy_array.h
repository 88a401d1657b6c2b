// A zero-initialised array of 64-bit values, allocated in 4 KiB chunks on
// first write: entries never written cost no memory and no address space
// beyond an 8-byte slot per 512 entries, so one entry per guest page stays
// cheap for sparse or huge blocks (even under a virtual-memory limit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <set>
#include <vector>

namespace migscope {

class LazyArray {
 public:
  static constexpr std::uint64_t kChunk = 512;  // entries per chunk (4 KiB)

  /// Size for `n` entries; false if even the chunk table cannot be had.
  bool allocate(std::uint64_t n) {
    chunks_.clear();
    allocated_.clear();
    try {
      chunks_.resize(static_cast<std::size_t>((n + kChunk - 1) / kChunk));
    } catch (const std::bad_alloc&) {
      return false;
    }
    return true;
  }
  std::uint64_t get(std::uint64_t i) const noexcept {
    const auto& c = chunks_[static_cast<std::size_t>(i / kChunk)];
    return c ? c[i % kChunk] : 0;
  }
  /// A reference to entry `i`, allocating its chunk; null if memory ran out.
  std::uint64_t* ref(std::uint64_t i) noexcept {
    auto& c = chunks_[static_cast<std::size_t>(i / kChunk)];
    if (!c) {
      c.reset(new (std::nothrow) std::uint64_t[kChunk]());
      if (!c) return nullptr;
      allocated_.insert(i / kChunk);
    }
    return &c[i % kChunk];
  }
  bool chunk_allocated(std::uint64_t chunk) const noexcept { return chunks_[static_cast<std::size_t>(chunk)] != nullptr; }
  /// The first allocated chunk at or after `chunk`, or UINT64_MAX: walks over
  /// huge sparse ranges cost what was written, not what was declared.
  std::uint64_t next_allocated(std::uint64_t chunk) const {
    auto it = allocated_.lower_bound(chunk);
    return it == allocated_.end() ? UINT64_MAX : *it;
  }

 private:
  std::vector<std::unique_ptr<std::uint64_t[]>> chunks_;
  std::set<std::uint64_t> allocated_;
};

}  // namespace migscope
