#include "input/zstd_frames.h"

#include <algorithm>

#include "wire/hex.h"

namespace migscope {

namespace {
constexpr std::uint32_t kFrameMagic = 0xFD2FB528u;
constexpr std::uint32_t kSkippableMagic = 0x184D2A50u;  // ...0x184D2A5F
std::uint32_t le(const std::uint8_t* b, unsigned n) {
  std::uint32_t v = 0;
  for (unsigned i = 0; i < n; ++i) v |= std::uint32_t{b[i]} << (8 * i);
  return v;
}
}  // namespace

void ZstdFrameTracker::feed(const std::byte* p, std::size_t n, std::uint64_t at) noexcept {
  while (n > 0 && why_.empty()) {
    if (state_ == State::skip_header || state_ == State::skip_block || state_ == State::skip_checksum ||
        state_ == State::skip_skippable) {
      const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, n));
      p += take, n -= take, at += take, skip_ -= take;
      if (skip_ == 0) after_skip();
      continue;
    }
    if (state_ == State::magic && have_ == 0) frame_start_ = at;
    buf_[have_++] = static_cast<std::uint8_t>(*p);
    ++p, --n, ++at;
    if (have_ == want_) collected(at);
  }
}

void ZstdFrameTracker::collected(std::uint64_t at) noexcept {
  const std::uint32_t v = le(buf_, want_);
  have_ = 0;
  switch (state_) {
    case State::magic:
      if (v == kFrameMagic) {
        state_ = State::descriptor, want_ = 1;
      } else if ((v & 0xFFFFFFF0u) == kSkippableMagic) {
        state_ = State::skippable_size, want_ = 4;
      } else {
        why_ = "no zstd frame at compressed offset 0x" + hex_digits(at - 4) + " (magic 0x" + hex_digits(v) + ")";
      }
      return;
    case State::descriptor: {
      const unsigned fcs_flag = v >> 6, single = (v >> 5) & 1, did = v & 3;
      if (v & 0x08) {
        why_ = "zstd frame at compressed offset 0x" + hex_digits(frame_start_) + " sets a reserved bit";
        return;
      }
      checksum_ = (v >> 2) & 1;
      static constexpr unsigned kDictBytes[4] = {0, 1, 2, 4};
      skip_ = (single ? 0 : 1) + kDictBytes[did] + (fcs_flag == 0 ? single : 1u << fcs_flag);
      state_ = State::skip_header;
      if (skip_ == 0) after_skip();
      return;
    }
    case State::block_header: {
      last_block_ = v & 1;
      const unsigned type = (v >> 1) & 3;
      if (type == 3) {
        why_ = "zstd block at compressed offset 0x" + hex_digits(at - 3) + " has the reserved type 3";
        return;
      }
      skip_ = type == 1 ? 1 : v >> 3;  // RLE: one byte
      state_ = State::skip_block;
      if (skip_ == 0) after_skip();
      return;
    }
    case State::skippable_size:
      skip_ = v;
      state_ = State::skip_skippable;
      if (skip_ == 0) after_skip();
      return;
    default:
      return;
  }
}

void ZstdFrameTracker::after_skip() noexcept {
  switch (state_) {
    case State::skip_header:
      state_ = State::block_header, want_ = 3;
      return;
    case State::skip_block:
      if (!last_block_) {
        state_ = State::block_header, want_ = 3;
      } else if (checksum_) {
        state_ = State::skip_checksum, skip_ = 4;
      } else {
        state_ = State::magic, want_ = 4, ++frames_;
      }
      return;
    case State::skip_checksum:
    case State::skip_skippable:
      state_ = State::magic, want_ = 4, ++frames_;
      return;
    default:
      return;
  }
}

}  // namespace migscope
