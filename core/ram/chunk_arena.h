// Backing store for the page index of a large guest: 4 KiB chunks carved out
// of an unlinked temporary file mapped shared, so the resident set can be
// trimmed (MADV_DONTNEED keeps the data: it stays in the file's page cache,
// which the kernel may write back and reclaim) and the index of a 256 GiB
// guest (512 MiB) does not have to live in the process's memory.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace migscope {

class ChunkArena {
 public:
  static constexpr std::size_t kChunkBytes = 4096;
  static constexpr std::size_t kSegmentBytes = std::size_t{64} << 20;

  /// An arena whose mapped chunks are trimmed from the resident set every
  /// `trim_every` chunk switches (see note_switch); null if no temporary file
  /// can be made ($TMPDIR, else /tmp).
  static std::unique_ptr<ChunkArena> create(std::uint64_t trim_every);
  ~ChunkArena();
  ChunkArena(const ChunkArena&) = delete;
  ChunkArena& operator=(const ChunkArena&) = delete;

  /// A zeroed chunk that stays at this address for the arena's life; null if
  /// the file (its blocks are reserved 64 MiB at a time) or the address space
  /// cannot grow.
  std::uint64_t* allocate() noexcept;
  /// A user moved to another chunk: every `trim_every` switches, drop the
  /// arena's pages from the resident set (they re-fault from the file).
  void note_switch() noexcept {
    if (switches_.fetch_add(1, std::memory_order_relaxed) + 1 >= trim_every_) trim();
  }
  void trim() noexcept;
  /// The mapped segments, for tests that inspect the resident set.
  std::span<std::byte* const> segments() const noexcept { return segments_; }

 private:
  ChunkArena(int fd, std::uint64_t trim_every) : fd_(fd), trim_every_(trim_every) {}

  int fd_;
  std::uint64_t trim_every_;
  std::atomic<std::uint64_t> switches_{0};
  std::vector<std::byte*> segments_;
  std::size_t used_in_last_ = kSegmentBytes;  // bytes handed out of the last segment
};

}  // namespace migscope
