// The frame structure of zstd data (RFC 8878), followed as the compressed
// bytes pass by: frame headers, block headers (contents are skipped, not
// decoded) and checksums, and skippable frames. Boost's zstd filter reports
// the end of its input as the end of the data, even inside a frame; this
// tells a cut (the data ends inside a frame) from a clean end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace migscope {

class ZstdFrameTracker {
 public:
  /// The next `n` compressed bytes, which start at compressed offset `at`.
  void feed(const std::byte* p, std::size_t n, std::uint64_t at) noexcept;
  /// True between frames (nothing fed is at its end: a clean end of data).
  bool between_frames() const noexcept { return state_ == State::magic && have_ == 0 && why_.empty(); }
  /// Where the frame being read started (compressed offset).
  std::uint64_t frame_start() const noexcept { return frame_start_; }
  /// Why the bytes are not zstd frames (empty if they are, so far).
  const std::string& why() const noexcept { return why_; }
  std::uint64_t frames() const noexcept { return frames_; }

 private:
  enum class State : std::uint8_t { magic, descriptor, skip_header, block_header, skip_block, skip_checksum, skippable_size, skip_skippable };
  void collected(std::uint64_t at) noexcept;
  void after_skip() noexcept;

  State state_ = State::magic;
  std::uint8_t buf_[4] = {};
  unsigned have_ = 0, want_ = 4;
  std::uint64_t skip_ = 0;
  bool last_block_ = false, checksum_ = false;
  std::uint64_t frame_start_ = 0, frames_ = 0;
  std::string why_;
};

}  // namespace migscope
