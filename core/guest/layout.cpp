#include "guest/layout.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace migscope {

std::string_view guest_arch_name(GuestArch a) noexcept {
  switch (a) {
    case GuestArch::x86_64: return "x86_64";
    case GuestArch::aarch64: return "aarch64";
    case GuestArch::riscv64: return "riscv64";
    case GuestArch::ppc64: return "ppc64";
    case GuestArch::s390x: return "s390x";
    case GuestArch::unknown: break;
  }
  return "unknown";
}

namespace guest {

namespace {

constexpr std::uint64_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;
constexpr std::uint64_t k4G = 4 * GiB;
constexpr std::uint64_t kAmdHtStart = 0xfd00000000ULL;

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// Guest-physical address space painted from low to high priority, as
// QEMU's flat view renders overlapping regions.
class Painter {
 public:
  static constexpr std::int64_t kHole = -1;  // MMIO: nothing dumpable
  struct Seg {
    std::uint64_t start, end;
    std::int64_t block;
    std::uint64_t offset;
  };

  void paint(std::uint64_t start, std::uint64_t length, std::int64_t block, std::uint64_t offset) {
    if (length == 0) return;
    const std::uint64_t end = start + std::min(length, ~std::uint64_t{0} - start);
    std::vector<Seg> out;
    out.reserve(segs_.size() + 2);
    for (const Seg& s : segs_) {
      if (s.end <= start || s.start >= end) {
        out.push_back(s);
        continue;
      }
      if (s.start < start) out.push_back({s.start, start, s.block, s.offset});
      if (s.end > end) out.push_back({end, s.end, s.block, s.offset + (end - s.start)});
    }
    if (block != kHole) out.push_back({start, end, block, offset});
    std::sort(out.begin(), out.end(), [](const Seg& a, const Seg& b) { return a.start < b.start; });
    segs_ = std::move(out);
  }

  const std::vector<Seg>& segs() const noexcept { return segs_; }

 private:
  std::vector<Seg> segs_;
};

struct Version {
  int major = 99, minor = 99;  // an alias ("pc", "q35"): the newest
};

Version machine_version(std::string_view machine) {
  Version v;
  const auto dash = machine.rfind('-');
  if (dash == std::string_view::npos) return v;
  const std::string_view tail = machine.substr(dash + 1);
  int ma = 0, mi = 0;
  const char* p = tail.data();
  const char* e = tail.data() + tail.size();
  auto r = std::from_chars(p, e, ma);
  if (r.ec != std::errc{} || r.ptr == e || *r.ptr != '.') return v;
  r = std::from_chars(r.ptr + 1, e, mi);
  if (r.ec != std::errc{}) return v;
  return {ma, mi};
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) { return s.size() >= p.size() && s.substr(s.size() - p.size()) == p; }

enum class Family { unknown, pc, q35, isapc, microvm, arm_virt, riscv_virt, pseries, s390 };

std::string_view family_name(Family f) {
  switch (f) {
    case Family::pc: return "pc";
    case Family::q35: return "q35";
    case Family::isapc: return "isapc";
    case Family::microvm: return "microvm";
    case Family::arm_virt: return "virt";
    case Family::riscv_virt: return "virt";
    case Family::pseries: return "pseries";
    case Family::s390: return "s390-ccw-virtio";
    case Family::unknown: break;
  }
  return "unknown";
}

bool block_named(const MachineFacts& f, std::string_view name) {
  for (const auto& n : f.block_names)
    if (n == name) return true;
  return false;
}

GuestArch arch_from_cpus(const MachineFacts& f) {
  for (const FlatState& c : f.cpus) {
    if (c.find("env.eip")) return GuestArch::x86_64;
    if (c.find("env.xregs[0]")) return GuestArch::aarch64;
    if (c.find("env.misa_mxl")) return GuestArch::riscv64;
    if (c.find("env.psw.mask")) return GuestArch::s390x;
    if (c.find("env.nip")) return GuestArch::ppc64;
  }
  return GuestArch::unknown;
}

Family family_of(std::string_view m, const MachineFacts& f, GuestArch arch) {
  if (starts_with(m, "pc-q35") || m == "q35") return Family::q35;
  if (starts_with(m, "pc-i440fx") || m == "pc" || starts_with(m, "pc-0.") || starts_with(m, "pc-1.")) return Family::pc;
  if (m == "isapc") return Family::isapc;
  if (m == "microvm") return Family::microvm;
  if (starts_with(m, "pseries")) return Family::pseries;
  if (starts_with(m, "s390-ccw-virtio")) return Family::s390;
  if (m == "virt" || starts_with(m, "virt-")) {
    if (arch == GuestArch::riscv64 || block_named(f, "riscv_virt_board.ram")) return Family::riscv_virt;
    return Family::arm_virt;
  }
  if (!m.empty()) return Family::unknown;
  // No configuration section: the devices and blocks tell.
  for (const auto& s : f.sections) {
    if (ends_with(s, "/mch")) return Family::q35;
    if (ends_with(s, "/I440FX")) return Family::pc;
  }
  if (block_named(f, "mach-virt.ram")) return Family::arm_virt;
  if (block_named(f, "riscv_virt_board.ram")) return Family::riscv_virt;
  if (block_named(f, "ppc_spapr.ram")) return Family::pseries;
  if (block_named(f, "s390.ram")) return Family::s390;
  return Family::unknown;
}

bool non_ram_block(std::string_view n) {
  return n.find('/') != std::string_view::npos || n == "pc.bios" || n == "pc.rom" || n == "isa-bios" ||
         n.find("flash") != std::string_view::npos || ends_with(n, ".rom") || ends_with(n, ".mrom") ||
         n.find("vram") != std::string_view::npos;
}

std::string unplaced_reason(std::string_view n) {
  if (starts_with(n, "/rom@")) return "fw_cfg file: not mapped in guest memory";
  if (n.find("flash") != std::string_view::npos) return "flash: a ROM device, which dump-guest-memory leaves out";
  if (ends_with(n, ".rom")) return "PCI option ROM: its ROM BAR is not mapped";
  if (n.find("vram") != std::string_view::npos) return "video memory behind a PCI BAR: not placed";
  return "not at an address the stream tells: place it explicitly";
}

// below_4g from the RTC CMOS as pc_cmos_init() (hw/i386/pc.c) wrote it, if
// it agrees with the RAM size (the guest can rewrite CMOS bytes).
std::optional<std::uint64_t> cmos_below_4g(const std::array<std::uint8_t, 128>& c, std::uint64_t ram) {
  const std::uint64_t above = (std::uint64_t{c[0x5b]} | std::uint64_t{c[0x5c]} << 8 | std::uint64_t{c[0x5d]} << 16) * 65536;
  const std::uint64_t mid = std::uint64_t{c[0x34]} | std::uint64_t{c[0x35]} << 8;   // 64 KiB units above 16 MiB
  const std::uint64_t ext = std::uint64_t{c[0x30]} | std::uint64_t{c[0x31]} << 8;   // KiB above 1 MiB
  std::uint64_t below;
  if (mid > 0 && mid < 0xffff) below = 16 * MiB + mid * 65536;
  else if (mid == 0 && ext > 0 && ext < 0xffff) below = MiB + ext * KiB;
  else if (mid == 0 && ext == 0) below = std::min<std::uint64_t>(ram, MiB);
  else return std::nullopt;  // saturated: the CMOS cannot say
  if (below > ram || below > k4G) return std::nullopt;
  // The split is in 64 KiB units: the rest of RAM must be what is above.
  const std::uint64_t rest = ram - below;
  if (rest < above || rest - above >= 65536) return std::nullopt;
  return below;
}

struct X86Rules {
  std::uint64_t below;
  std::string why;
};

X86Rules x86_rule_split(Family fam, Version v, std::uint64_t ram) {
  const bool gigabyte_align = v.major > 1 || (v.major == 1 && v.minor > 7);
  if (fam == Family::q35) {
    std::uint64_t lowmem = ram >= 0xb0000000 ? (gigabyte_align ? 0x80000000 : 0xb0000000) : 0xb0000000;
    return {ram >= lowmem ? lowmem : ram, "q35: RAM from 0xb0000000 up splits at " + hex(lowmem)};
  }
  if (fam == Family::microvm) return {std::min<std::uint64_t>(ram, 0x80000000), "microvm"};
  std::uint64_t lowmem = 0xe0000000;
  if (ram >= lowmem && gigabyte_align) lowmem = 0xc0000000;
  return {ram >= lowmem ? lowmem : ram, gigabyte_align ? "pc: RAM from 0xe0000000 up splits at 3 GiB (gigabyte alignment)"
                                                       : "pc <= 1.7: RAM from 0xe0000000 up splits at 3.5 GiB"};
}

bool legacy_vga(const MachineFacts& f) {
  for (const auto& s : f.sections) {
    const auto slash = s.rfind('/');
    const std::string_view dev = std::string_view(s).substr(slash == std::string::npos ? 0 : slash + 1);
    if (dev == "vga" || dev == "cirrus_vga" || dev == "vmware_vga" || dev == "virtio-vga" || dev == "ati-vga" ||
        dev == "isa-vga" || dev == "qxl-vga")
      return true;
  }
  return false;
}

}  // namespace

Result<GuestLayout> compute_layout(const MachineFacts& facts, const LayoutOverrides& ov) {
  GuestLayout L;
  L.machine = ov.machine ? *ov.machine : facts.machine;
  const std::vector<std::string>& names = facts.block_names;
  auto index_of = [&](std::string_view n) -> std::int64_t {
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == n) return static_cast<std::int64_t>(i);
    return -1;
  };

  GuestArch arch = arch_from_cpus(facts);
  if (arch == GuestArch::unknown) {
    if (block_named(facts, "pc.ram")) arch = GuestArch::x86_64;
    else if (block_named(facts, "mach-virt.ram")) arch = GuestArch::aarch64;
    else if (block_named(facts, "riscv_virt_board.ram")) arch = GuestArch::riscv64;
    else if (block_named(facts, "ppc_spapr.ram")) arch = GuestArch::ppc64;
    else if (block_named(facts, "s390.ram")) arch = GuestArch::s390x;
  }
  const Family fam = family_of(L.machine, facts, arch);
  if (arch == GuestArch::unknown) {
    if (fam == Family::pc || fam == Family::q35 || fam == Family::isapc || fam == Family::microvm) arch = GuestArch::x86_64;
    else if (fam == Family::arm_virt) arch = GuestArch::aarch64;
    else if (fam == Family::riscv_virt) arch = GuestArch::riscv64;
    else if (fam == Family::pseries) arch = GuestArch::ppc64;
    else if (fam == Family::s390) arch = GuestArch::s390x;
  }
  L.arch = arch;
  L.family = std::string(family_name(fam));

  // The machine's RAM: its usual name, else the one large block that is no ROM/device memory.
  static constexpr std::string_view kMainNames[] = {"pc.ram", "mach-virt.ram", "riscv_virt_board.ram", "ppc_spapr.ram",
                                                    "s390.ram", "microvm.ram"};
  std::int64_t main = -1;
  for (auto n : kMainNames)
    if ((main = index_of(n)) >= 0) break;
  if (main < 0) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      bool placed_by_user = false;
      for (const auto& p : ov.place) placed_by_user |= p.first == names[i];
      if (non_ram_block(names[i]) || placed_by_user) continue;
      if (main < 0 || facts.blocks[i].length > facts.blocks[static_cast<std::size_t>(main)].length)
        main = static_cast<std::int64_t>(i);
    }
    if (main >= 0) L.notes.push_back("the machine's RAM is taken to be block '" + names[static_cast<std::size_t>(main)] + "' (a memory backend)");
  }

  Painter P;
  std::vector<bool> placed(names.size(), false);
  auto paint_block = [&](std::int64_t b, std::uint64_t addr, std::uint64_t offset, std::uint64_t length) {
    if (b < 0) return;
    const std::uint64_t blen = facts.blocks[static_cast<std::size_t>(b)].length;
    if (offset >= blen) return;
    P.paint(addr, std::min(length, blen - offset), b, offset);
    placed[static_cast<std::size_t>(b)] = true;
  };

  if (fam == Family::unknown && ov.place.empty())
    return make_error(ErrorCode::unsupported, Error::no_offset,
                      L.machine.empty() ? "the stream names no machine type, and its devices do not tell one: the guest-physical layout is unknown"
                                        : "machine type '" + L.machine + "' has no known guest-physical layout");
  if (main >= 0 && fam != Family::unknown) L.main_block = names[static_cast<std::size_t>(main)];
  const std::uint64_t ram = main >= 0 ? facts.blocks[static_cast<std::size_t>(main)].length : 0;

  const bool x86 = fam == Family::pc || fam == Family::q35 || fam == Family::isapc || fam == Family::microvm;
  if (x86 && main >= 0) {
    const Version v = machine_version(L.machine);
    const X86Rules rule = x86_rule_split(fam, v, ram);
    std::optional<std::uint64_t> from_cmos;
    if (facts.cmos) from_cmos = cmos_below_4g(*facts.cmos, ram);
    if (ov.below_4g) {
      if (*ov.below_4g > ram || *ov.below_4g > k4G)
        return make_error(ErrorCode::usage, Error::no_offset, "the RAM below 4 GiB (" + hex(*ov.below_4g) + ") is more than the RAM (" + hex(ram) + ") or 4 GiB");
      L.below_4g = *ov.below_4g;
      L.split_source = "option";
    } else if (from_cmos) {
      L.below_4g = *from_cmos;
      L.split_source = "RTC CMOS";
      if (*from_cmos != rule.below)
        L.notes.push_back("the RTC CMOS says " + hex(*from_cmos) + " bytes of RAM below 4 GiB where the machine rules say " +
                          hex(rule.below) + " (max-ram-below-4g was set)");
    } else if (fam == Family::microvm && ram > 0x80000000) {
      return make_error(ErrorCode::unsupported, Error::no_offset,
                        "microvm with more than 2 GiB of RAM: the split below 4 GiB depends on the QEMU version and the stream does not tell it");
    } else {
      L.below_4g = rule.below;
      L.split_source = "machine rules";
      if (facts.cmos) L.notes.push_back("the RTC CMOS memory sizes do not match the RAM size: the machine rules are used");
      else if (ram >= 0xb0000000) L.notes.push_back("no RTC CMOS in the stream: the split assumes max-ram-below-4g was not set");
    }
    L.above_4g = ram - L.below_4g;
    L.above_4g_start = ov.above_4g_start ? *ov.above_4g_start : k4G;
    // fuzz_layout (regressions/layout-above-4g-start-top-empty-range.bin): a
    // start that leaves no room for the RAM above 4 GiB cut it short, silently.
    // Asked for, it is the user's start; otherwise the stream's RAM size.
    if (L.above_4g > UINT64_MAX - L.above_4g_start)
      return make_error(ov.above_4g_start ? ErrorCode::usage : ErrorCode::corrupt, Error::no_offset,
                        "RAM above 4 GiB starting at " + hex(L.above_4g_start) + " would run past the end of the address space (" +
                            hex(L.above_4g) + " bytes)");
    if (!ov.above_4g_start && L.above_4g > 0 && k4G + L.above_4g >= kAmdHtStart && (v.major > 7 || (v.major == 7 && v.minor >= 1)))
      L.notes.push_back("RAM reaches the AMD HyperTransport range: on an AMD CPU QEMU moves RAM above 4 GiB to 1 TiB (say where it starts if so)");

    const bool pci = fam == Family::pc || fam == Family::q35;
    const bool vga = legacy_vga(facts);
    const std::int64_t bios = index_of("pc.bios"), rom = index_of("pc.rom"), isa_bios_ram = index_of("isa-bios");
    const std::uint64_t bios_len = bios >= 0 ? facts.blocks[static_cast<std::size_t>(bios)].length : 0;
    const std::uint64_t isa_len = std::min(bios_len, 128 * KiB);
    // What the PCI address space (or, without PCI, the ISA space) shows in [lo, hi).
    auto paint_pci_view = [&](std::uint64_t lo, std::uint64_t hi) {
      auto clip = [&](std::int64_t b, std::uint64_t addr, std::uint64_t offset, std::uint64_t len) {
        const std::uint64_t s = std::max(lo, addr), e = std::min(hi, addr + len);
        if (s < e) paint_block(b, s, offset + (s - addr), e - s);
      };
      if (bios >= 0) clip(bios, k4G - bios_len, 0, bios_len);
      if (vga && lo < 0xc0000 && hi > 0xa0000) P.paint(std::max<std::uint64_t>(lo, 0xa0000), std::min<std::uint64_t>(hi, 0xc0000) - std::max<std::uint64_t>(lo, 0xa0000), Painter::kHole, 0);
      if (rom >= 0) clip(rom, 0xc0000, 0, facts.blocks[static_cast<std::size_t>(rom)].length);
      if (isa_bios_ram >= 0) clip(isa_bios_ram, MiB - facts.blocks[static_cast<std::size_t>(isa_bios_ram)].length, 0, facts.blocks[static_cast<std::size_t>(isa_bios_ram)].length);
      else if (bios >= 0) clip(bios, MiB - isa_len, bios_len - isa_len, isa_len);
    };

    // 1. The PCI hole shows the PCI space (priority -1 under RAM), with
    // the memory BARs firmware assigned: a standard VGA's BAR 0 is its vram.
    if (pci || fam == Family::microvm) paint_pci_view(0, ~std::uint64_t{0});
    else if (bios >= 0) paint_block(bios, k4G - bios_len, 0, bios_len);
    for (const PciConfig& dev : facts.pci) {
      if (dev.device != "vga" || dev.config.size() < 0x18) continue;
      const std::int64_t vram = index_of(dev.path + "/vga.vram");
      const bool memory_on = dev.config[0x04] & 0x02;
      std::uint64_t bar = std::uint64_t{dev.config[0x10]} | std::uint64_t{dev.config[0x11]} << 8 |
                          std::uint64_t{dev.config[0x12]} << 16 | std::uint64_t{dev.config[0x13]} << 24;
      if ((bar & 0x6) == 0x4) bar |= (std::uint64_t{dev.config[0x14]} | std::uint64_t{dev.config[0x15]} << 8 |
                                      std::uint64_t{dev.config[0x16]} << 16 | std::uint64_t{dev.config[0x17]} << 24) << 32;
      bar &= ~std::uint64_t{0xf};
      if (vram >= 0 && memory_on && bar != 0 && bar < ~std::uint64_t{0} - facts.blocks[static_cast<std::size_t>(vram)].length) {
        paint_block(vram, bar, 0, facts.blocks[static_cast<std::size_t>(vram)].length);
        L.notes.push_back("'" + names[static_cast<std::size_t>(vram)] + "' mapped by its PCI BAR 0 at " + hex(bar));
      }
    }
    // 2. RAM.
    paint_block(main, 0, 0, L.below_4g);
    if (L.above_4g) paint_block(main, L.above_4g_start, L.below_4g, L.above_4g);
    // 3. What lies over RAM below 1 MiB (and TSEG).
    if (pci) {
      const PciConfig* hb = facts.pci_device(fam == Family::q35 ? "mch" : "I440FX");
      const bool have = hb && hb->config.size() >= 256;
      if (!have) L.notes.push_back(facts.have_device_state ? "no host bridge state in the stream: PAM and SMRAM taken at their reset values"
                                                           : "device state not decoded: PAM and SMRAM taken at their reset values");
      auto cfg = [&](std::size_t at, std::uint8_t reset) -> std::uint8_t { return have ? hb->config[at] : reset; };
      const std::size_t pam0 = fam == Family::q35 ? 0x90 : 0x59;
      const std::uint8_t smram = cfg(fam == Family::q35 ? 0x9d : 0x72, 0x02);
      const bool d_open = smram & 0x40;
      bool low_smram_hidden;  // smram_region enabled: the VGA window shows the PCI space
      bool high_smram_open = false;
      std::uint64_t tseg = 0;
      if (fam == Family::q35) {
        const std::uint8_t esmramc = cfg(0x9e, 0x38);
        const bool h_smrame = esmramc & 0x80;
        low_smram_hidden = d_open ? h_smrame : true;
        high_smram_open = d_open && h_smrame;
        if ((esmramc & 0x01) && (smram & 0x08)) {
          switch (esmramc & 0x06) {
            case 0x00: tseg = 1 * MiB; break;
            case 0x02: tseg = 2 * MiB; break;
            case 0x04: tseg = 8 * MiB; break;
            default: {
              const std::uint16_t w = have ? static_cast<std::uint16_t>(hb->config[0x50] | hb->config[0x51] << 8) : 0xffff;
              tseg = (w != 0 && w != 0xffff ? w : 16) * MiB;
              if (w == 0 || w == 0xffff) L.notes.push_back("TSEG size taken as 16 MiB (the extended-tseg-mbytes default)");
            }
          }
        }
      } else {
        low_smram_hidden = !d_open;
      }
      if (low_smram_hidden) paint_pci_view(0xa0000, 0xc0000);
      for (unsigned i = 0; i < 13; ++i) {
        const std::uint8_t reg = cfg(pam0 + (i + 1) / 2, 0);
        const unsigned attr = (reg >> ((i & 1) ? 0 : 4)) & 3;
        const std::uint64_t start = i == 0 ? 0xf0000 : 0xc0000 + (i - 1) * 0x4000;
        const std::uint64_t size = i == 0 ? 0x10000 : 0x4000;
        if (attr == 0) paint_pci_view(start, start + size);
        else paint_block(main, start, start, size);  // shadow RAM, read-only or not
      }
      if (tseg && tseg <= L.below_4g) P.paint(L.below_4g - tseg, tseg, Painter::kHole, 0);
      if (high_smram_open) paint_block(main, 0xfeda0000, 0xa0000, 0x20000);
    } else if (fam == Family::isapc || fam == Family::microvm) {
      if (vga) P.paint(0xa0000, 0x20000, Painter::kHole, 0);
      if (rom >= 0) paint_block(rom, 0xc0000, 0, facts.blocks[static_cast<std::size_t>(rom)].length);
      if (bios >= 0) paint_block(bios, MiB - isa_len, bios_len - isa_len, isa_len);
    }
  } else if (main >= 0) {
    std::uint64_t base = 0;
    if (fam == Family::arm_virt) base = 0x40000000;
    else if (fam == Family::riscv_virt) base = 0x80000000;
    if (fam != Family::unknown) paint_block(main, base, 0, ram);
    if (fam == Family::riscv_virt) {
      const std::int64_t mrom = index_of("riscv_virt_board.mrom");
      if (mrom >= 0) paint_block(mrom, 0x1000, 0, facts.blocks[static_cast<std::size_t>(mrom)].length);
    }
  }

  for (const auto& [name, addr] : ov.place) {
    const std::int64_t b = index_of(name);
    if (b < 0) return make_error(ErrorCode::usage, Error::no_offset, "no RAM block '" + name + "' in the stream to place");
    const std::uint64_t length = facts.blocks[static_cast<std::size_t>(b)].length;
    // Ranges are [start, end) with end a 64-bit address: the last byte mappable is 2^64 - 2.
    if (length > UINT64_MAX - addr)
      return make_error(ErrorCode::usage, Error::no_offset,
                        "block '" + name + "' placed at " + hex(addr) + " would run past the end of the address space (" +
                            hex(length) + " bytes)");
    paint_block(b, addr, 0, facts.blocks[static_cast<std::size_t>(b)].length);
    L.notes.push_back("block '" + name + "' placed at " + hex(addr) + " as asked");
  }

  // Merge adjacent parts of one block with contiguous offsets (one PT_LOAD each, as QEMU does).
  for (const Painter::Seg& s : P.segs()) {
    if (!L.ranges.empty()) {
      GuestRange& last = L.ranges.back();
      if (last.block_index == static_cast<std::uint32_t>(s.block) && last.paddr + last.length == s.start &&
          last.block_offset + last.length == s.offset) {
        last.length += s.end - s.start;
        continue;
      }
    }
    GuestRange r;
    r.paddr = s.start;
    r.length = s.end - s.start;
    r.block_index = static_cast<std::uint32_t>(s.block);
    r.block = names[static_cast<std::size_t>(s.block)];
    r.block_offset = s.offset;
    L.ranges.push_back(std::move(r));
  }
  // A block painted over entirely is not in the map either.
  std::vector<bool> visible(names.size(), false);
  for (const GuestRange& r : L.ranges) visible[r.block_index] = true;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (!visible[i])
      L.unplaced.push_back({names[i], facts.blocks[i].length,
                            placed[i] ? "hidden by what the machine maps over it" : unplaced_reason(names[i])});
  return L;
}

}  // namespace guest
}  // namespace migscope
