#include "guest_map.h"

#include "progress.h"

#include <charconv>

#include "migscope/error.h"

namespace migscope::tools {

std::optional<std::uint64_t> parse_bytes(std::string_view t) {
  if (t.empty()) return std::nullopt;
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    t.remove_prefix(2);
  }
  std::uint64_t v = 0;
  auto r = std::from_chars(t.data(), t.data() + t.size(), v, base);
  if (r.ec != std::errc{}) return std::nullopt;
  std::string_view rest(r.ptr, static_cast<std::size_t>(t.data() + t.size() - r.ptr));
  unsigned shift = 0;
  if (rest == "K" || rest == "k" || rest == "KiB") shift = 10;
  else if (rest == "M" || rest == "MiB") shift = 20;
  else if (rest == "G" || rest == "GiB") shift = 30;
  else if (rest == "T" || rest == "TiB") shift = 40;
  else if (!rest.empty()) return std::nullopt;
  if (shift && v > (~std::uint64_t{0} >> shift)) return std::nullopt;
  return v << shift;
}

std::optional<std::string> parse_layout_options(const std::string& machine, const std::string& below,
                                                const std::string& above_start, const std::vector<std::string>& place,
                                                LayoutOverrides& out) {
  if (!machine.empty()) out.machine = machine;
  if (!below.empty()) {
    out.below_4g = parse_bytes(below);
    if (!out.below_4g) return "--below-4g takes a size (e.g. 2G, 3072M, 0x80000000), not '" + below + "'";
  }
  if (!above_start.empty()) {
    out.above_4g_start = parse_bytes(above_start);
    if (!out.above_4g_start) return "--above-4g-start takes an address (e.g. 4G, 0x10000000000), not '" + above_start + "'";
  }
  for (const std::string& p : place) {
    const auto at = p.rfind('@');
    auto addr = at == std::string::npos ? std::nullopt : parse_bytes(std::string_view(p).substr(at + 1));
    if (!addr || at == 0) return "--place takes BLOCK@ADDR (e.g. mem1@0x140000000), not '" + p + "'";
    out.place.emplace_back(p.substr(0, at), *addr);
  }
  return std::nullopt;
}

std::string elf_machine_name(std::uint16_t m) {
  switch (m) {
    case 3: return "EM_386";
    case 21: return "EM_PPC64";
    case 22: return "EM_S390";
    case 62: return "EM_X86_64";
    case 183: return "EM_AARCH64";
    case 243: return "EM_RISCV";
    default: return "e_machine " + std::to_string(m);
  }
}

void print_guest_map(std::FILE* f, const GuestLayout& L) {
  std::fprintf(f, "guest-physical map: %s %s%s%s", std::string(guest_arch_name(L.arch)).c_str(), L.family.c_str(),
               L.machine.empty() ? "" : " (", L.machine.empty() ? "" : (L.machine + ")").c_str());
  if (L.arch == GuestArch::x86_64 && !L.main_block.empty())
    std::fprintf(f, ", RAM below 4 GiB 0x%llx (%s), above 0x%llx", static_cast<unsigned long long>(L.below_4g),
                 L.split_source.c_str(), static_cast<unsigned long long>(L.above_4g));
  std::fprintf(f, "\n  %-18s %-18s %-14s %s\n", "start", "end", "length", "block + offset");
  for (const GuestRange& r : L.ranges)
    std::fprintf(f, "  0x%016llx 0x%016llx 0x%-12llx %s +0x%llx\n", static_cast<unsigned long long>(r.paddr),
                 static_cast<unsigned long long>(r.paddr + r.length - 1), static_cast<unsigned long long>(r.length),
                 printable(r.block).c_str(), static_cast<unsigned long long>(r.block_offset));
}

void report_layout_remarks(std::string_view prog, std::string_view file, const GuestLayout& L,
                           const std::vector<std::string>& remarks) {
  if (chattiness().quiet) return;
  const std::string head = std::string(prog) + ": " + printable(file) + ": note: ";
  for (const UnplacedBlock& b : L.unplaced)
    std::fprintf(stderr, "%sblock '%s' (0x%llx bytes) is not in the map: %s\n", head.c_str(), printable(b.block).c_str(),
                 static_cast<unsigned long long>(b.length), b.reason.c_str());
  for (const std::string& r : remarks) std::fprintf(stderr, "%s%s\n", head.c_str(), r.c_str());
}

}  // namespace migscope::tools
