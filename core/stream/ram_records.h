// The "ram" section body: MEM_SIZE block table and page records, read at
// header level (payloads stay spans into the mapping). Page records reach the
// visitor in batches.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "input/input.h"
#include "migscope/events.h"
#include "wire/cursor.h"
#include "migscope/error.h"

namespace migscope {

struct RamOptions {
  std::uint64_t page_size = 4096;    ///< target page size
  bool ignore_shared = false;        ///< x-ignore-shared: each block entry carries its GPA
  bool mapped_ram = false;           ///< mapped-ram: each block entry carries a MappedRamHeader
  std::uint64_t postcopy_page_sizes = 0;  ///< POSTCOPY_ADVISE's page size summary, 0 if none
  MappingReleaser* releaser = nullptr;    ///< keeps the resident set bounded on long bodies
  std::atomic<std::uint64_t>* progress = nullptr;  ///< WalkOptions::progress
};

/// Counts of what one body held (for summaries).
struct RamBodyStats {
  std::uint64_t records = 0;
};

class RamParser {
 public:
  static constexpr std::size_t kBatch = 4096;

  explicit RamParser(RamOptions options);

  void set_options(const RamOptions& options) { options_ = options; }
  const RamOptions& options() const noexcept { return options_; }

  /// Read one START/PART/END body up to and including its EOS record.
  Status parse_body(Cursor& c, const SectionInfo& section, StreamVisitor& visitor);

  const std::vector<RamBlock>& blocks() const noexcept { return blocks_; }
  /// The index of the block announced under `name`, if any.
  std::optional<std::uint32_t> find_block(std::string_view name) const {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) return std::nullopt;
    return it->second;
  }

 private:
  Status parse_mem_size(Cursor& c, std::uint64_t total, std::uint64_t at, const SectionInfo& section,
                        StreamVisitor& visitor);
  Status parse_mapped_ram(Cursor& c, RamBlock& block);
  Result<std::uint32_t> block_for(Cursor& c, bool continued, std::uint64_t at);
  Status flush(StreamVisitor& visitor, std::uint64_t position);
  /// Check a decoded record against its block and queue it.
  Status add_record(const PageRecord& r, StreamVisitor& visitor, const Cursor& c);

  RamOptions options_;
  std::vector<RamBlock> blocks_;
  std::unordered_map<std::string_view, std::uint32_t> by_name_;
  std::optional<std::uint32_t> current_block_;  // what CONTINUE refers to
  std::vector<PageRecord> batch_;
};

}  // namespace migscope
