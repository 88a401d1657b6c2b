// Input, private part: keeping a mapping's resident set bounded while passes
// walk it (InputFile and locate_stream are public: migscope/input.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "migscope/input.h"
#include "wire/cursor.h"

namespace migscope {

/// What an incomplete libvirt save image is (LibvirtHeader::complete false),
/// for the start of messages.
inline constexpr std::string_view kIncompleteSaveText =
    "incomplete libvirt save image (magic 'LibvirtQemudPart': the save never finished)";

/// Drop the pages of [from, to) of a file mapping from this process's resident
/// set (they stay in the page cache; touching them again re-faults them). The
/// range is widened down and shrunk up to whole 2 MiB units of the address
/// space: the caller must no longer need anything before `to`. Only for
/// memory that is a read-only file mapping: on anonymous memory this would
/// discard data.
void release_mapped_range(Bytes mapping, std::uint64_t from, std::uint64_t to) noexcept;

/// Fault in [from, to) of a file mapping in one call (MADV_POPULATE_READ);
/// a no-op where the kernel lacks it.
void populate_mapped_range(Bytes mapping, std::uint64_t from, std::uint64_t to) noexcept;

/// Calls release_mapped_range behind a moving position, every `step` bytes, so
/// a sequential pass over a mapping keeps a bounded resident set, and maps the
/// window ahead in one call instead of a page fault per 4 KiB.
///
/// With `helpers` > 0 (and a mapping of at least kMinHelped bytes), that
/// kernel work moves to helper threads: they map windows up to kAhead bytes
/// ahead of the position and release what lies behind it, so the walking
/// thread only parses. Mapping a file cached in 4 KiB folios (one just written,
/// e.g. by QEMU) costs about 0.1 s per GB of kernel time, more than `cat`
/// spends copying it; split over two cores it no longer bounds the walk.
class MappingReleaser {
 public:
  static constexpr std::uint64_t kStep = 8u << 20;
  static constexpr std::uint64_t kWindow = 2u << 20;   ///< one helper madvise call
  static constexpr std::uint64_t kAhead = 16u << 20;   ///< how far helpers map ahead
  static constexpr std::uint64_t kMaxLag = 6 * kWindow;  ///< then the caller releases itself
  static constexpr std::uint64_t kMinHelped = 256u << 20;

  /// `min_helped`: smaller mappings get no helpers (threads cost more than they save).
  explicit MappingReleaser(Bytes mapping, unsigned helpers = 0, std::uint64_t min_helped = kMinHelped);
  ~MappingReleaser();
  MappingReleaser(const MappingReleaser&) = delete;
  MappingReleaser& operator=(const MappingReleaser&) = delete;

  /// Whether helper threads run.
  bool helped() const noexcept { return helped_; }

  /// Everything before `position` is no longer needed by the caller.
  void advance(std::uint64_t position) noexcept {
    if (helped_) {
      // Wake the helpers once per window, not once per call.
      if (position / kWindow != announced_window_) {
        announced_window_ = position / kWindow;
        announce(position);
      }
      return;
    }
    if (position >= released_ + 2 * kStep) {
      release_mapped_range(mapping_, released_, position - kStep);
      released_ = position - kStep;
    }
    if (position + kStep > populated_) {
      populate_mapped_range(mapping_, populated_ > position ? populated_ : position, position + 2 * kStep);
      populated_ = position + 2 * kStep;
    }
  }

 private:
  struct Helpers;
  void announce(std::uint64_t position) noexcept;

  Bytes mapping_;
  std::uint64_t released_ = 0;
  std::uint64_t populated_ = 0;
  bool helped_ = false;
  std::uint64_t announced_window_ = 0;
  std::unique_ptr<Helpers> helpers_;
};

}  // namespace migscope
