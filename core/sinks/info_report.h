// What `migscope info` reports: every section and command with its offset, and
// per RAM block the page records by kind. Collected during one walk.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "migscope/events.h"
#include "migscope/records.h"

namespace migscope {

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
