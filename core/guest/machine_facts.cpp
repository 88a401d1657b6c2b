#include "guest/machine_facts.h"

#include <algorithm>
#include <cstring>

namespace migscope::guest {

namespace {

void flatten(const FieldValue& v, std::string& path, std::vector<std::pair<std::string, std::vector<std::byte>>>& out) {
  switch (v.kind) {
    case FieldValue::Kind::object:
      for (const auto& [name, member] : v.members) {
        const std::size_t keep = path.size();
        if (!path.empty()) path += '.';
        path += name;
        flatten(member, path, out);
        path.resize(keep);
      }
      break;
    case FieldValue::Kind::list:
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        const std::size_t keep = path.size();
        path += '[';
        path += std::to_string(i);
        path += ']';
        flatten(v.items[i], path, out);
        path.resize(keep);
      }
      break;
    case FieldValue::Kind::null_marker:
      break;
    default:
      out.emplace_back(path, std::vector<std::byte>(v.raw.begin(), v.raw.end()));
      break;
  }
}

// "0000:00:02.0/vga" -> path and device; false for anything else.
bool split_pci_idstr(std::string_view idstr, std::string& path, std::string& device) {
  const auto slash = idstr.find('/');
  if (slash != 12) return false;
  const std::string_view p = idstr.substr(0, 12);
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
  for (std::size_t i = 0; i < p.size(); ++i) {
    const bool sep = i == 4 || i == 7 || i == 10;
    if (sep ? p[i] != (i == 10 ? '.' : ':') : !hex(p[i])) return false;
  }
  path = std::string(p);
  device = std::string(idstr.substr(slash + 1));
  return true;
}

}  // namespace

const std::vector<std::byte>* FlatState::find(std::string_view path) const noexcept {
  for (const auto& [name, raw] : fields)
    if (name == path) return &raw;
  return nullptr;
}

const std::vector<std::byte>* FlatState::find_suffix(std::string_view suffix) const noexcept {
  for (const auto& [name, raw] : fields)
    if (name.size() >= suffix.size() && std::string_view(name).substr(name.size() - suffix.size()) == suffix &&
        (name.size() == suffix.size() || name[name.size() - suffix.size() - 1] == '.'))
      return &raw;
  return nullptr;
}

const std::vector<std::byte>* FlatState::find_field(std::string_view path) const noexcept {
  const auto* raw = find(path);
  return raw ? raw : find_suffix(path);
}

std::optional<std::uint64_t> FlatState::uint(std::string_view path) const noexcept {
  const auto* raw = find_field(path);
  if (!raw || raw->empty() || raw->size() > 8) return std::nullopt;
  std::uint64_t v = 0;
  for (std::byte b : *raw) v = (v << 8) | static_cast<std::uint8_t>(b);
  return v;
}

const PciConfig* MachineFacts::pci_device(std::string_view device) const noexcept {
  for (const PciConfig& p : pci)
    if (p.device == device) return &p;
  return nullptr;
}

bool MachineFacts::has_section(std::string_view idstr) const noexcept {
  return std::find(sections.begin(), sections.end(), idstr) != sections.end();
}

Status MachineFactsCollector::on_configuration(const Configuration& c) {
  facts_.machine = std::string(c.machine);
  return {};
}

Status MachineFactsCollector::on_ram_blocks(const SectionInfo&, std::span<const RamBlock> blocks) {
  for (std::size_t i = facts_.blocks.size(); i < blocks.size(); ++i) {
    facts_.blocks.push_back(blocks[i]);
    facts_.block_names.emplace_back(blocks[i].name);
  }
  // Names must outlive the walk: point them at our copies.
  for (std::size_t i = 0; i < facts_.blocks.size(); ++i) facts_.blocks[i].name = facts_.block_names[i];
  return {};
}

Status MachineFactsCollector::on_section(const SectionEvent& e) {
  if (!e.info) return {};
  const std::string_view idstr = e.info->idstr;
  if (!facts_.has_section(idstr)) facts_.sections.emplace_back(idstr);
  if (!e.state) return {};
  facts_.have_device_state = true;
  std::string path, device;
  if (idstr == "cpu") {
    FlatState s;
    s.idstr = std::string(idstr);
    s.instance_id = e.info->instance_id;
    std::string prefix;
    flatten(*e.state, prefix, s.fields);
    facts_.cpus.push_back(std::move(s));
  } else if (idstr == "mc146818rtc") {
    for (const auto& [name, v] : e.state->members)
      if (name == "cmos_data" && v.raw.size() == 128) {
        std::array<std::uint8_t, 128> cmos{};
        std::memcpy(cmos.data(), v.raw.data(), cmos.size());
        facts_.cmos = cmos;
      }
  } else if (split_pci_idstr(idstr, path, device)) {
    FlatState s;
    std::string prefix;
    flatten(*e.state, prefix, s.fields);
    // The PCIDevice's config buffer: "parent_obj.config[0]", "dev.config[0]", "config" ...
    for (const auto& [name, raw] : s.fields) {
      const auto dot = name.rfind('.');
      const std::string_view leaf = std::string_view(name).substr(dot == std::string::npos ? 0 : dot + 1);
      if (leaf.substr(0, 6) == "config" && (raw.size() == 256 || raw.size() == 4096)) {
        PciConfig p{path, device, {}};
        p.config.resize(raw.size());
        std::memcpy(p.config.data(), raw.data(), raw.size());
        facts_.pci.push_back(std::move(p));
        break;
      }
    }
  }
  return {};
}

}  // namespace migscope::guest
