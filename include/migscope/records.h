// What the operations report, as plain values: every section and command of a
// stream with its offset (info), per RAM block the page records by kind, the
// files extract wrote and the hashes hash computed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

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
