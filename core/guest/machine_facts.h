// What the guest-physical map and the CPU notes need from a stream, copied
// out of the walk (the walked bytes may be gone afterwards): the machine
// type, the RAM blocks, the host bridge's and the RTC's registers, which
// devices exist, and every CPU's decoded state as flat field paths.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "migscope/events.h"

namespace migscope::guest {

/// One device section's decoded state as (path, raw big-endian bytes):
/// "env.regs[3]", "env.segs[1].selector", "cpu/vfp.env.vfp.zregs[0].d[1]".
struct FlatState {
  std::string idstr;
  std::uint32_t instance_id = 0;
  std::vector<std::pair<std::string, std::vector<std::byte>>> fields;

  const std::vector<std::byte>* find(std::string_view path) const noexcept;
  /// `path` itself, else a field that ends with it (one in a subsection).
  const std::vector<std::byte>* find_field(std::string_view path) const noexcept;
  /// That field as an unsigned integer (its raw bytes big-endian, 1 to 8 of them).
  std::optional<std::uint64_t> uint(std::string_view path) const noexcept;
  /// The first field whose path ends with `suffix` (subsections nest names).
  const std::vector<std::byte>* find_suffix(std::string_view suffix) const noexcept;
};

/// A PCI function's configuration space, from its section (e.g. "0000:00:02.0/vga").
struct PciConfig {
  std::string path;    ///< "0000:00:02.0"
  std::string device;  ///< the vmstate name after the path: "vga", "mch", "I440FX"
  std::vector<std::uint8_t> config;  ///< 256 bytes (or 4096 for PCIe)
};

struct MachineFacts {
  std::string machine;                  ///< configuration section, if any
  std::vector<RamBlock> blocks;         ///< names point into `block_names`
  std::vector<std::string> block_names;
  std::optional<std::array<std::uint8_t, 128>> cmos;  ///< mc146818rtc cmos_data
  std::vector<PciConfig> pci;
  std::vector<std::string> sections;    ///< idstr of every section seen, once each
  std::vector<FlatState> cpus;          ///< "cpu" sections, in stream order
  bool have_device_state = false;       ///< device sections were decoded (a description exists)

  const PciConfig* pci_device(std::string_view device) const noexcept;
  bool has_section(std::string_view idstr) const noexcept;
};

/// Collects MachineFacts from a walk (put it in a StreamFanout).
class MachineFactsCollector : public StreamVisitor {
 public:
  Status on_configuration(const Configuration& c) override;
  Status on_section(const SectionEvent& e) override;
  Status on_ram_blocks(const SectionInfo& s, std::span<const RamBlock> blocks) override;

  const MachineFacts& facts() const noexcept { return facts_; }
  MachineFacts take() { return std::move(facts_); }

 private:
  MachineFacts facts_;
};

}  // namespace migscope::guest
