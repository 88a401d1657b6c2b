// What the operations report, as plain values: every section and command of a
// stream with its offset (info), per RAM block the page records by kind, the
// files extract wrote and the hashes hash computed, the page maps report draws.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "migscope/events.h"

namespace migscope {

struct SectionRecord {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;  ///< header + body + footer
  std::uint64_t body_size = 0;
  std::string idstr;
  std::uint32_t id = 0;
  std::uint32_t instance_id = 0;
  std::uint32_t version_id = 0;
  std::uint8_t type = 0;
  SectionKind kind = SectionKind::opaque;
  bool has_footer = false;
  bool decoded = false;  ///< device state decoded through the vmdesc
  unsigned depth = 0;
};

struct CommandRecord {
  std::uint64_t offset = 0;
  std::uint16_t cmd = 0;
  std::uint16_t length = 0;
  unsigned depth = 0;
  std::string detail;  ///< e.g. PING value, PACKAGED length, ADVISE page sizes
};

inline constexpr std::size_t kPageKinds = 5;

struct BlockPageStats {
  std::array<std::uint64_t, kPageKinds> records{};  ///< indexed by PageKind
  std::uint64_t payload_bytes = 0;
  std::uint64_t nonzero_fill = 0;  ///< ZERO records whose fill byte is not 0
};

/// What a RAM page's records amount to, for a picture of its block (report):
/// its last record an XBZRLE delta or a zlib page, else sent more than once,
/// else its one record: a zero page (fill 0) or data (a page, a mapped-ram
/// page, a zero record with a non-zero fill).
enum class PageClass : std::uint8_t { not_sent, zero, data, resent, xbzrle, compressed };
inline constexpr std::size_t kPageClasses = 6;

inline std::string_view page_class_name(PageClass c) noexcept {
  switch (c) {
    case PageClass::not_sent: return "not sent";
    case PageClass::zero: return "zero";
    case PageClass::data: return "data";
    case PageClass::resent: return "re-sent";
    case PageClass::xbzrle: return "xbzrle";
    case PageClass::compressed: return "compressed";
  }
  return "?";
}

/// A RAM block's pages at a resolution that fits any block in a few KiB:
/// cells of `pages_per_cell` consecutive pages (the last one may be shorter).
struct BlockPageMap {
  std::string name;
  std::uint64_t length = 0;
  std::uint64_t page_size = 0;
  std::uint64_t pages = 0;           ///< length / page_size, rounded up
  std::uint64_t pages_per_cell = 0;  ///< 0 for an empty block
  std::array<std::uint64_t, kPageClasses> pages_by_class{};  ///< indexed by PageClass, exact
  /// Two bytes per cell: the PageClass most of its sent pages have (low
  /// nibble; not_sent when none was sent) and another that at least 1/8 of
  /// them have (high nibble, not_sent for none); then the share of its pages
  /// sent, 0..255 (at least 1 when any was).
  std::vector<std::uint8_t> cells;
  std::uint64_t cell_count() const noexcept { return cells.size() / 2; }
};

struct ExtractedBlock {
  std::string name;
  std::string relative_path;
  std::uint64_t length = 0;
  std::uint64_t pages_written = 0;  ///< page writes (a page re-sent counts again)
};

struct BlockHashSummary {
  std::string name;
  std::uint64_t length = 0;
  std::uint64_t pages_sent = 0;  ///< pages with at least one record
  std::uint64_t zero_pages = 0;  ///< of those, whose final record is a zero page (fill 0)
  std::uint64_t hi = 0, lo = 0;  ///< XXH3-128 of the whole final block content
  bool whole_hash = false;       ///< false when the block was too large to hash whole
};

}  // namespace migscope
