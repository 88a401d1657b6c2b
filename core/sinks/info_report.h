// What `migscope info` reports: every section and command with its offset, and
// per RAM block the page records by kind. Collected during one walk.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "stream/events.h"

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

class InfoCollector : public StreamVisitor {
 public:
  Status on_command(const Command& c) override;
  Status on_section(const SectionEvent& ev) override;
  Status on_ram_blocks(const SectionInfo&, std::span<const RamBlock> blocks) override;
  Status on_pages(std::span<const RamBlock> blocks, std::span<const PageRecord> pages) override;

  std::vector<SectionRecord> sections;
  std::vector<CommandRecord> commands;
  std::vector<BlockPageStats> block_stats;  ///< indexed like the block table
};

}  // namespace migscope
