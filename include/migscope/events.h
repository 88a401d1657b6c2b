// What the walker reports to its visitors: configuration, commands (their
// payloads decoded), sections (with decoded device state when a description
// exists), RAM blocks, page records in batches, and postcopy discards. Every
// wire format is parsed once, by the walker: no visitor decodes a payload.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "migscope/bytes.h"
#include "migscope/error.h"
#include "migscope/value.h"

namespace migscope {

struct Configuration {
  std::uint64_t offset = 0;  ///< of the 0x07 byte
  std::string_view machine;
  std::optional<std::uint32_t> target_page_bits;
  std::vector<std::string_view> capabilities;
  std::optional<Bytes> uuid;  ///< 16 raw bytes
  bool has_capability(std::string_view name) const noexcept {
    for (auto c : capabilities)
      if (c == name) return true;
    return false;
  }
};

struct Command {
  std::uint64_t offset = 0;  ///< of the 0x08 byte
  std::uint16_t cmd = 0;     ///< MIG_CMD_* (migration/savevm.c)
  Bytes payload;
  unsigned depth = 0;  ///< 0 in the main stream, 1 inside a PACKAGED blob
  // The payload, decoded by the walker for the commands that carry one:
  std::uint32_t value = 0;  ///< PING: the value; PACKAGED: the blob's length
  std::optional<std::uint64_t> advised_page_sizes;  ///< POSTCOPY_ADVISE (16-byte form): the page size summary
  std::optional<std::uint64_t> advised_target_page_size;  ///< and the target page size
  std::string_view block_name;  ///< POSTCOPY_RAM_DISCARD, RECV_BITMAP
};

/// POSTCOPY_RAM_DISCARD, decoded and checked against the block table: these
/// byte ranges of the block read as zero until their pages are sent again.
struct RamDiscard {
  std::uint64_t offset = 0;  ///< of the command
  std::uint32_t block = 0;   ///< index into the block table
  struct Range {
    std::uint64_t start = 0, length = 0;  ///< bytes, inside the block
  };
  std::span<const Range> ranges;
};

enum class SectionKind : std::uint8_t {
  ram,                 ///< "ram": block list and page records
  device,              ///< decoded through the vmdesc
  htab,                ///< "spapr/htab"
  storage_attributes,  ///< "s390-storage_attributes"
  storage_keys,        ///< "s390-skeys" (old-style, parsed structurally without a vmdesc)
  dirty_bitmap,        ///< "dirty-bitmap"
  block,               ///< "block" (7.2 block migration)
  vfio,                ///< "<dev>/vfio"
  opaque,              ///< no description: skipped to its footer
};

std::string_view section_kind_name(SectionKind kind) noexcept;

/// A device's description in the vmdesc (opaque: decoded by the walker).
class DeviceDescription;

struct SectionInfo {
  std::uint32_t id = 0;
  std::string_view idstr;
  std::uint32_t instance_id = 0;
  std::uint32_t version_id = 0;
  SectionKind kind = SectionKind::opaque;
  const DeviceDescription* desc = nullptr;  ///< vmdesc device description, if any
};

struct SectionEvent {
  std::uint8_t type = 0;  ///< START, PART, END or FULL
  const SectionInfo* info = nullptr;
  std::uint64_t offset = 0;       ///< of the type byte
  std::uint64_t body_offset = 0;  ///< first byte after the header
  std::uint64_t body_end = 0;     ///< first byte after the body (the footer, if any)
  std::uint64_t end = 0;          ///< first byte after the footer
  bool has_footer = false;
  unsigned depth = 0;                  ///< 1 inside a PACKAGED blob
  const FieldValue* state = nullptr;   ///< decoded device state (device sections)
  Bytes body;                          ///< the body bytes
};

/// One RAM block announced by MEM_SIZE.
struct RamBlock {
  std::string_view name;
  std::uint64_t length = 0;
  std::uint64_t target_page_size = 0;    ///< the stream's target page size (records are this big)
  std::uint64_t page_size = 0;           ///< postcopy per-block page size, if sent; else 0
  std::optional<std::uint64_t> guest_addr;  ///< x-ignore-shared: the block's GPA
  bool mapped_ram = false;
  std::uint64_t bitmap_offset = 0;  ///< mapped-ram: absolute file offsets
  std::uint64_t pages_offset = 0;
  std::uint64_t header_offset = 0;  ///< where the block entry starts
  std::uint64_t mapped_ram_header_offset = 0;  ///< mapped-ram: where its MappedRamHeader starts
};

enum class PageKind : std::uint8_t { zero, page, xbzrle, compressed, mapped };

std::string_view page_kind_name(PageKind kind) noexcept;

/// One page record, pointing into the mapping (never a copy).
struct PageRecord {
  std::uint64_t offset = 0;       ///< page offset inside its block
  std::uint64_t file_offset = 0;  ///< of the record header (or of the page, for mapped-ram)
  Bytes payload;                  ///< page bytes, xbzrle or zlib data; empty for zero pages
  std::uint32_t block = 0;        ///< index into the block table
  PageKind kind = PageKind::zero;
  std::uint8_t fill = 0;          ///< zero pages: the fill byte (non-zero is data in 7.2)
};

class StreamVisitor {
 public:
  virtual ~StreamVisitor() = default;
  virtual Status on_configuration(const Configuration&) { return {}; }
  virtual Status on_command(const Command&) { return {}; }
  /// After a section's body (and footer) was read.
  virtual Status on_section(const SectionEvent&) { return {}; }
  /// After MEM_SIZE announced the block table (the whole table so far).
  virtual Status on_ram_blocks(const SectionInfo&, std::span<const RamBlock>) { return {}; }
  /// Page records in stream order, in batches; the spans die after the call.
  virtual Status on_pages(std::span<const RamBlock>, std::span<const PageRecord>) { return {}; }
  /// After on_command for a POSTCOPY_RAM_DISCARD (page batches before it were delivered).
  virtual Status on_ram_discard(std::span<const RamBlock>, const RamDiscard&) { return {}; }
};

/// Forwards every event to several visitors in order, stopping at the first
/// error: one walk feeding, say, an index and a state writer.
class StreamFanout : public StreamVisitor {
 public:
  explicit StreamFanout(std::vector<StreamVisitor*> visitors) : visitors_(std::move(visitors)) {}
  Status on_configuration(const Configuration& c) override {
    for (auto* v : visitors_) MIGSCOPE_TRY(v->on_configuration(c));
    return {};
  }
  Status on_command(const Command& c) override {
    for (auto* v : visitors_) MIGSCOPE_TRY(v->on_command(c));
    return {};
  }
  Status on_section(const SectionEvent& e) override {
    for (auto* v : visitors_) MIGSCOPE_TRY(v->on_section(e));
    return {};
  }
  Status on_ram_blocks(const SectionInfo& s, std::span<const RamBlock> b) override {
    for (auto* v : visitors_) MIGSCOPE_TRY(v->on_ram_blocks(s, b));
    return {};
  }
  Status on_pages(std::span<const RamBlock> b, std::span<const PageRecord> p) override {
    for (auto* v : visitors_) MIGSCOPE_TRY(v->on_pages(b, p));
    return {};
  }
  Status on_ram_discard(std::span<const RamBlock> b, const RamDiscard& d) override {
    for (auto* v : visitors_) MIGSCOPE_TRY(v->on_ram_discard(b, d));
    return {};
  }

 private:
  std::vector<StreamVisitor*> visitors_;
};

/// A fact worth telling the user that did not stop the walk.
struct Warning {
  std::uint64_t offset = 0;
  std::string text;
  Remedy remedy = Remedy::none;
};

}  // namespace migscope
