// A stream that cannot be mapped (decompressed, or read out of a qcow2
// snapshot's clusters), produced on its own thread into an unlinked temporary
// file in $TMPDIR that is mapped as it grows. The walk reads the mapping
// while the producer is still writing ahead of it, so decompression and
// parsing run side by side, and the bytes stay available to later passes
// (the page index, XBZRLE, the hash's second pass) without a second
// decompression. The producer runs at most kAhead bytes ahead of the reader.
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
  static constexpr std::uint64_t kAhead = 64u << 20;  ///< how far the producer may run ahead of the reader
  static constexpr std::size_t kChunk = 4u << 20;     ///< one write; the reader is woken once per chunk

  /// Start producing `reader` (at most `limit` bytes: more is a decompression
  /// bomb, and an error at that offset). `name` names the input in errors.
  /// `chunk`: bytes per write (tests make it tiny, to cut records anywhere).
  static Result<std::unique_ptr<StreamWindow>> start(std::unique_ptr<SequentialReader> reader, std::uint64_t limit,
                                                     std::string name, std::size_t chunk = kChunk);
  ~StreamWindow() override;
  StreamWindow(const StreamWindow&) = delete;
  StreamWindow& operator=(const StreamWindow&) = delete;

  std::uint64_t wait_for(std::uint64_t size) override;
  const Error* failure() const noexcept override;

  /// The first byte of the range (valid up to filled()).
  const std::byte* base() const noexcept { return base_; }
  std::uint64_t filled() const noexcept { return filled_.load(std::memory_order_acquire); }
  /// Address space reserved for it: the most it may grow to.
  std::uint64_t reserved() const noexcept { return reserved_; }
  /// Wait for the whole stream; its bytes, or why it could not be produced.
  Result<Bytes> wait_all();
  /// True once the producer has stopped (at the end, or on an error).
  bool ended() const noexcept { return ended_.load(std::memory_order_acquire); }

 private:
  StreamWindow() = default;
  void produce();

  std::unique_ptr<SequentialReader> reader_;
  std::string name_;
  std::uint64_t limit_ = 0;
  std::size_t chunk_ = kChunk;
  int fd_ = -1;
  const std::byte* base_ = nullptr;
  std::uint64_t reserved_ = 0;  // bytes of address space mapped
  std::atomic<std::uint64_t> filled_{0};
  std::atomic<bool> ended_{false};
  std::optional<Error> failure_;  // set before ended_
  std::mutex mu_;
  std::condition_variable grown_;    // the reader waits on it
  std::condition_variable wanted_;   // the producer waits on it
  std::uint64_t wanted_size_ = 0;    // the most the reader has asked for
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace migscope
