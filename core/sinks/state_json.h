// Device state as upstream analyze-migration.py prints it (-d state): one key
// "<idstr> (<section id>)" per section in order of first appearance, written as
// each section is read (nothing is kept but the current section).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "json/py_writer.h"
#include "migscope/events.h"
#include "migscope/value.h"

namespace migscope {

/// Render one decoded value with upstream's rules.
void write_state_value(json::PyWriter& w, const FieldValue& v, std::string& scratch);
/// "0x%0{2n}x", plus " (<decimal>)" for negative signed values.
void format_int(std::string& out, Bytes raw, bool is_signed);
/// Hex pairs separated by spaces ("00 1f ff").
void format_hex_bytes(std::string& out, Bytes raw);

class StateJsonSink : public StreamVisitor {
 public:
  explicit StateJsonSink(json::PyWriter& w) : w_(w) {}

  /// With -m: called inside the RAM section's object, after "section sizes",
  /// to write the "memory" member's value.
  using MemoryWriter = std::function<Status(json::PyWriter&)>;
  void set_memory_writer(MemoryWriter fn) { memory_ = std::move(fn); }

  /// Open the top-level object; call before the walk.
  void begin() { w_.start_object(); }
  /// Close it; call only after a complete walk.
  void finish() {
    w_.end_object();
    w_.end_document();
  }

  Status on_ram_blocks(const SectionInfo&, std::span<const RamBlock> blocks) override;
  Status on_section(const SectionEvent& ev) override;

 private:
  json::PyWriter& w_;
  MemoryWriter memory_;
  std::vector<std::pair<std::string, std::uint64_t>> pending_blocks_;
  std::string scratch_;
};

}  // namespace migscope
