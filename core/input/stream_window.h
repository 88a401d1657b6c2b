// A stream that cannot be mapped (decompressed, or read out of a qcow2
// snapshot's clusters), produced on its own thread into memory that is mapped
// as it grows, so decompression and parsing run side by side. The walk reads
// the mapping while the producer writes ahead of it, at most kAhead bytes.
//
// Two kinds:
// - spool: an unlinked temporary file in $TMPDIR that keeps every byte, for
//   the passes that read earlier bytes again (the page index, XBZRLE, the
//   hash's second pass, cat);
// - once: anonymous memory (in huge pages) of which only a window is kept:
//   the head (kKeepHead: the configuration, the RAM block table, the names of
//   the iterative sections, which the walk keeps referring to) and kKeepBehind
//   bytes behind the furthest position the reader asked for (consumers on
//   worker threads lag by at most two batches); what lies before is freed.
//   No temporary file, and memory bounded whatever the stream's size. Its
//   memory is anonymous: dropping it from the resident set (MappingReleaser,
//   release_mapped_range) would lose it, so nothing but the window frees it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "migscope/input.h"
#include "wire/cursor.h"

namespace migscope {

class StreamWindow final : public GrowingRange {
 public:
  static constexpr std::uint64_t kAhead = 16u << 20;       ///< how far the producer may run ahead of the reader
  static constexpr std::size_t kChunk = 1u << 20;          ///< one write; the reader is woken once per chunk
  static constexpr std::uint64_t kKeepHead = 1u << 20;     ///< once: never freed
  static constexpr std::uint64_t kKeepBehind = 40u << 20;  ///< once: kept behind the reader (lag: two batches, 32 MiB)
  static constexpr std::uint64_t kFreeUnit = 2u << 20;     ///< once: freed in these units

  enum class Kind : std::uint8_t { spool, once };

  /// Start producing `reader` (at most `limit` bytes: more is a decompression
  /// bomb, and an error at that offset). `name` names the input in errors.
  /// `chunk`: bytes per write (tests make it tiny, to cut records anywhere).
  static Result<std::unique_ptr<StreamWindow>> start(std::unique_ptr<SequentialReader> reader, std::uint64_t limit,
                                                     std::string name, Kind kind = Kind::spool,
                                                     std::size_t chunk = kChunk);
  ~StreamWindow() override;
  StreamWindow(const StreamWindow&) = delete;
  StreamWindow& operator=(const StreamWindow&) = delete;

  std::uint64_t wait_for(std::uint64_t size, std::uint64_t position = 0) override;
  const Error* failure() const noexcept override;
  std::uint64_t retained_behind() const noexcept override { return kind_ == Kind::once ? kKeepBehind : UINT64_MAX; }

  /// The first byte of the range (valid up to filled()).
  const std::byte* base() const noexcept { return base_; }
  std::uint64_t filled() const noexcept { return filled_.load(std::memory_order_acquire); }
  /// Address space reserved for it: the most it may grow to.
  std::uint64_t reserved() const noexcept { return reserved_; }
  /// Wait for the whole stream; its bytes, or why it could not be produced.
  /// (Of a `once` window, only the kept parts are still there.)
  Result<Bytes> wait_all();
  Kind kind() const noexcept { return kind_; }
  /// Bytes freed so far (a `once` window): [kKeepHead, kKeepHead + freed()).
  std::uint64_t freed() const noexcept { return freed_.load(std::memory_order_relaxed); }
  /// True once the producer has stopped (at the end, or on an error).
  bool ended() const noexcept { return ended_.load(std::memory_order_acquire); }

 private:
  StreamWindow() = default;
  void produce();
  void free_behind(std::uint64_t reader_at, std::uint64_t filled);

  std::unique_ptr<SequentialReader> reader_;
  std::string name_;
  std::uint64_t limit_ = 0;
  std::size_t chunk_ = kChunk;
  Kind kind_ = Kind::spool;
  std::uint64_t freed_to_ = kKeepHead;  // once: [kKeepHead, freed_to_) is freed (producer thread)
  std::uint64_t recycled_to_ = 0;        // once: freed units were moved up to here, ahead of the producer
  bool recycle_ = true;                  // once: false after mremap refused (kernel < 5.13)
  std::atomic<std::uint64_t> freed_{0};
  int fd_ = -1;
  void* map_ = nullptr;         // the mapping (a read-once window: a little larger, for alignment)
  std::uint64_t map_size_ = 0;
  const std::byte* base_ = nullptr;
  std::uint64_t reserved_ = 0;  // bytes of address space mapped
  std::atomic<std::uint64_t> filled_{0};
  std::atomic<bool> ended_{false};
  std::optional<Error> failure_;  // set before ended_
  std::mutex mu_;
  std::condition_variable grown_;    // the reader waits on it
  std::condition_variable wanted_;   // the producer waits on it
  std::uint64_t wanted_size_ = 0;    // the most the reader has asked for
  std::uint64_t reader_at_ = 0;      // the furthest position it asked from
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace migscope
