// Guest-physical memory: where the machine maps each RAM block, as QEMU's
// own memory map (address space "memory") would show it, derived from the
// stream: the machine type, the block sizes, and device state (the RTC CMOS
// memory sizes, the host bridge's PAM/SMRAM registers, a legacy VGA).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace migscope {

/// A contiguous guest-physical range backed by one contiguous part of one RAM block.
struct GuestRange {
  std::uint64_t paddr = 0;
  std::uint64_t length = 0;
  std::string block;
  std::uint64_t block_offset = 0;
  std::uint32_t block_index = 0;  ///< index into the stream's block table
};

/// A RAM block that is not in the map, and why.
struct UnplacedBlock {
  std::string block;
  std::uint64_t length = 0;
  std::string reason;
};

enum class GuestArch : std::uint8_t { unknown, x86_64, aarch64, riscv64, ppc64, s390x };
std::string_view guest_arch_name(GuestArch a) noexcept;

struct GuestLayout {
  GuestArch arch = GuestArch::unknown;
  std::string machine;      ///< the machine type, as the stream (or an override) names it
  std::string family;       ///< "pc", "q35", "microvm", "isapc", "virt", "pseries", "s390-ccw-virtio"
  std::string main_block;   ///< the block that is the machine's RAM
  std::uint64_t below_4g = 0, above_4g = 0;  ///< x86: the split of the main block
  std::uint64_t above_4g_start = 0;          ///< x86: where the part above 4 GiB starts
  std::string split_source;                  ///< x86: "RTC CMOS", "machine rules", "option"
  std::vector<GuestRange> ranges;            ///< ascending paddr, adjacent parts of one block merged
  std::vector<UnplacedBlock> unplaced;
  std::vector<std::string> notes;            ///< what was assumed or found, one line each

  std::uint64_t end() const noexcept { return ranges.empty() ? 0 : ranges.back().paddr + ranges.back().length; }
};

/// What the user can tell when the stream cannot.
struct LayoutOverrides {
  std::optional<std::string> machine;          ///< a machine type, for streams without one
  std::optional<std::uint64_t> below_4g;       ///< x86: bytes of the main block below 4 GiB
  std::optional<std::uint64_t> above_4g_start; ///< x86: where the rest starts (AMD 1 TiB relocation)
  /// Extra placements: the whole block at this address (DIMMs, extra backends).
  std::vector<std::pair<std::string, std::uint64_t>> place;
};

}  // namespace migscope
