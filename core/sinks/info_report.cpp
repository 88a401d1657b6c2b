#include "sinks/info_report.h"

#include <cstdio>

#include "stream/format.h"

namespace migscope {

Status InfoCollector::on_command(const Command& c) {
  CommandRecord r;
  r.offset = c.offset;
  r.cmd = c.cmd;
  r.length = static_cast<std::uint16_t>(c.payload.size());
  r.depth = c.depth;
  char buf[96];
  switch (c.cmd) {
    case wire::kCmdPing:
      std::snprintf(buf, sizeof buf, "value 0x%x", c.value);
      r.detail = buf;
      break;
    case wire::kCmdPackaged:
      r.detail = "blob of " + std::to_string(c.value) + " bytes";
      break;
    case wire::kCmdPostcopyAdvise:
      if (c.advised_page_sizes) {
        std::snprintf(buf, sizeof buf, "page sizes 0x%llx, target page size %llu",
                      static_cast<unsigned long long>(*c.advised_page_sizes),
                      static_cast<unsigned long long>(c.advised_target_page_size.value_or(0)));
        r.detail = buf;
      }
      break;
    case wire::kCmdPostcopyRamDiscard:
      r.detail = "block '" + std::string(c.block_name) + "'";
      break;
    default:
      break;
  }
  commands.push_back(std::move(r));
  return {};
}

Status InfoCollector::on_section(const SectionEvent& ev) {
  SectionRecord r;
  r.offset = ev.offset;
  r.size = ev.end - ev.offset;
  r.body_size = ev.body_end - ev.body_offset;
  r.idstr = std::string(ev.info->idstr);
  r.id = ev.info->id;
  r.instance_id = ev.info->instance_id;
  r.version_id = ev.info->version_id;
  r.type = ev.type;
  r.kind = ev.info->kind;
  r.has_footer = ev.has_footer;
  r.decoded = ev.state != nullptr;
  r.depth = ev.depth;
  sections.push_back(std::move(r));
  return {};
}

Status InfoCollector::on_ram_blocks(const SectionInfo&, std::span<const RamBlock> blocks) {
  block_stats.resize(blocks.size());
  return {};
}

Status InfoCollector::on_pages(std::span<const RamBlock> blocks, std::span<const PageRecord> pages) {
  if (block_stats.size() < blocks.size()) block_stats.resize(blocks.size());
  for (const PageRecord& p : pages) {
    BlockPageStats& s = block_stats[p.block];
    ++s.records[static_cast<std::size_t>(p.kind)];
    s.payload_bytes += p.payload.size();
    if (p.kind == PageKind::zero && p.fill != 0) ++s.nonzero_fill;
  }
  return {};
}

}  // namespace migscope
