#include "guest/cpu_notes.h"

#include <string>

namespace migscope::guest {

namespace {

constexpr std::uint32_t kNT_PRSTATUS = 1, kNT_PRFPREG = 2;

struct Reader {
  const FlatState& cpu;
  bool* missing;
  std::uint64_t operator()(const std::string& path) const {
    auto v = cpu.uint(path);
    if (!v) {
      *missing = true;
      return 0;
    }
    return *v;
  }
  std::string at(std::string_view name, unsigned i) const { return std::string(name) + "[" + std::to_string(i) + "]"; }
  /// A field QEMU writes as zero when the CPU model has none (a subsection not sent).
  std::uint64_t optional(const std::string& name) const { return cpu.uint(name).value_or(0); }
};

// target/i386/arch_dump.c
enum { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI };
enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS };

// The start of the Linux 64-bit elf_prstatus: pr_info, pr_cursig ... up to
// pr_pid at 32, then the rest of the header before pr_reg (QEMU fills only pr_pid).
void prstatus_head(NoteWriter& w, std::uint32_t id) {
  w.zeros(32);
  w.u32(id);
  w.zeros(76);
}

std::uint64_t seg(const Reader& r, unsigned s, const char* field) {
  return r("env.segs[" + std::to_string(s) + "]." + field);
}

ElfNote x86_64_prstatus(const Reader& r, std::uint32_t id) {
  NoteWriter w(false);
  prstatus_head(w, id);
  auto reg = [&](unsigned i) { return r(r.at("env.regs", i)); };
  for (unsigned i : {15u, 14u, 13u, 12u}) w.u64(reg(i));
  w.u64(reg(R_EBP));
  w.u64(reg(R_EBX));
  for (unsigned i : {11u, 10u, 9u, 8u}) w.u64(reg(i));
  w.u64(reg(R_EAX));
  w.u64(reg(R_ECX));
  w.u64(reg(R_EDX));
  w.u64(reg(R_ESI));
  w.u64(reg(R_EDI));
  w.u64(0);  // orig_rax
  w.u64(r("env.eip"));
  w.u64(seg(r, S_CS, "selector"));
  w.u64(r("env.eflags"));
  w.u64(reg(R_ESP));
  w.u64(seg(r, S_SS, "selector"));
  w.u64(seg(r, S_FS, "base"));
  w.u64(seg(r, S_GS, "base"));
  for (unsigned s : {S_DS, S_ES, S_FS, S_GS}) w.u64(seg(r, s, "selector"));
  w.zeros(8);
  return {"CORE", kNT_PRSTATUS, w.take()};
}

ElfNote i386_prstatus(const Reader& r, std::uint32_t id) {
  NoteWriter w(false);
  w.zeros(24);
  w.u32(id);
  w.zeros(44);
  auto reg = [&](unsigned i) { return r(r.at("env.regs", i)) & 0xffffffff; };
  for (unsigned i : {unsigned(R_EBX), unsigned(R_ECX), unsigned(R_EDX), unsigned(R_ESI), unsigned(R_EDI),
                     unsigned(R_EBP), unsigned(R_EAX)})
    w.u32(reg(i));
  for (unsigned s : {S_DS, S_ES, S_FS, S_GS}) {
    w.u16(seg(r, s, "selector"));
    w.u16(0);
  }
  w.u32(0);  // orig_eax
  w.u32(r("env.eip") & 0xffffffff);
  w.u16(seg(r, S_CS, "selector"));
  w.u16(0);
  w.u32(r("env.eflags") & 0xffffffff);
  w.u32(reg(R_ESP));
  w.u16(seg(r, S_SS, "selector"));
  w.u16(0);
  w.zeros(4);
  return {"CORE", kNT_PRSTATUS, w.take()};
}

// QEMUCPUState, version 1, with kernel_gs_base (440 bytes).
ElfNote x86_qemu_note(const Reader& r, bool regs64) {
  NoteWriter w(false);
  w.u32(1);
  w.u32(440);
  auto reg = [&](unsigned i) { return r(r.at("env.regs", i)); };
  for (unsigned i : {unsigned(R_EAX), unsigned(R_EBX), unsigned(R_ECX), unsigned(R_EDX), unsigned(R_ESI),
                     unsigned(R_EDI), unsigned(R_ESP), unsigned(R_EBP)})
    w.u64(reg(i));
  for (unsigned i = 8; i < 16; ++i) w.u64(regs64 ? reg(i) : 0);
  w.u64(r("env.eip"));
  w.u64(r("env.eflags"));
  auto segment = [&](const std::string& base) {
    w.u32(r(base + ".selector"));
    w.u32(r(base + ".limit"));
    w.u32(r(base + ".flags"));
    w.u32(0);
    w.u64(r(base + ".base"));
  };
  for (unsigned s : {S_CS, S_DS, S_ES, S_FS, S_GS, S_SS}) segment("env.segs[" + std::to_string(s) + "]");
  for (const char* s : {"env.ldt", "env.tr", "env.gdt", "env.idt"}) segment(s);
  w.u64(r("env.cr[0]"));
  w.u64(0);  // cr[1] is not migrated (and never used)
  w.u64(r("env.cr[2]"));
  w.u64(r("env.cr[3]"));
  w.u64(r("env.cr[4]"));
  w.u64(r("env.kernelgsbase"));
  return {"QEMU", 0, w.take()};
}

// target/arm/arch_dump.c (AArch64 state)
ElfNote aarch64_prstatus(const Reader& r, std::uint32_t id) {
  NoteWriter w(false);
  prstatus_head(w, id);
  for (unsigned i = 0; i < 31; ++i) w.u64(r(r.at("env.xregs", i)));
  w.u64(r("env.xregs[31]"));  // sp
  w.u64(r("env.pc"));
  w.u64(r("cpsr"));  // PSTATE, as the stream's "cpsr" carries it in AArch64 state
  w.u32(1);          // pr_fpvalid
  w.zeros(4);
  return {"CORE", kNT_PRSTATUS, w.take()};
}

ElfNote aarch64_prfpreg(const Reader& r) {
  NoteWriter w(false);
  for (unsigned i = 0; i < 32; ++i) {
    const std::string base = "cpu/vfp.env.vfp.zregs[" + std::to_string(i) + "].d";
    w.u64(r(base + "[0]"));
    w.u64(r(base + "[1]"));
  }
  const std::uint64_t fpscr = r("cpu/vfp.fpscr");
  w.u32(fpscr & 0xf800009f);  // FPSR_MASK
  w.u32(fpscr & 0x07ff9f00);  // FPCR_MASK
  w.zeros(8);
  return {"CORE", kNT_PRFPREG, w.take()};
}

// target/riscv/arch_dump.c (riscv64)
ElfNote riscv64_prstatus(const Reader& r, std::uint32_t id) {
  NoteWriter w(false);
  prstatus_head(w, id);
  w.u64(r("env.pc"));
  for (unsigned i = 1; i < 32; ++i) w.u64(r(r.at("env.gpr", i)));
  w.zeros(8);
  return {"CORE", kNT_PRSTATUS, w.take()};
}

// target/ppc/arch_dump.c (ppc64, big-endian dump). LR, CTR and XER travel in env.spr.
constexpr unsigned kSprXer = 1, kSprLr = 8, kSprCtr = 9;

std::vector<ElfNote> ppc64_notes(const Reader& r, bool big) {
  std::vector<ElfNote> out;
  auto reg = [&](unsigned i) { return r(r.at("env.gpr", i)); };
  {
    NoteWriter w(big);
    w.zeros(112);
    for (unsigned i = 0; i < 32; ++i) w.u64(reg(i));
    w.u64(r("env.nip"));
    w.u64(r("env.msr"));
    w.u64(0);  // orig_gpr3
    w.u64(r(r.at("env.spr", kSprCtr)));
    w.u64(r(r.at("env.spr", kSprLr)));
    w.u64(r(r.at("env.spr", kSprXer)));
    std::uint64_t cr = 0;
    for (unsigned i = 0; i < 8; ++i) cr |= (r(r.at("env.crf", i)) & 15) << (4 * (7 - i));
    w.u64(cr);
    w.zeros(5 * 8);  // softe, trap, dar, dsisr, result
    w.zeros(40);
    out.push_back({"CORE", 1, w.take()});
  }
  {
    NoteWriter w(big);
    for (unsigned i = 0; i < 32; ++i) w.u64(r.optional("cpu/fpu.env.vsr[" + std::to_string(i) + "]"));
    w.u64(r.optional("env.fpscr"));
    out.push_back({"CORE", 2, w.take()});
  }
  {
    NoteWriter w(big);
    for (unsigned i = 0; i < 32; ++i) {
      const auto* avr = r.cpu.find_field("cpu/altivec.env.vsr[" + std::to_string(i) + "]");
      if (avr && avr->size() == 16 && big) w.bytes(*avr);  // VsrD(0) then VsrD(1), big-endian: as the stream has them
      else w.zeros(16);
    }
    w.zeros(12);
    w.u32(r.optional("cpu/altivec.vscr"));
    w.zeros(16);  // vrsave: QEMU leaves it zero
    out.push_back({"CORE", 0x100, w.take()});
  }
  {
    NoteWriter w(big);
    for (unsigned i = 0; i < 32; ++i) w.u64(r.optional("cpu/vsx.env.vsr[" + std::to_string(i) + "]"));
    out.push_back({"CORE", 0x102, w.take()});
  }
  {
    NoteWriter w(big);
    w.zeros(32 * 4);  // evr: QEMU leaves it zero
    w.u64(r.optional("env.spe_acc"));
    w.u32(r.optional("env.spe_fscr"));
    out.push_back({"CORE", 0x101, w.take()});
  }
  return out;
}

// target/s390x/arch_dump.c: per CPU two "CORE" notes, then eight "LINUX" ones.
std::vector<ElfNote> s390x_notes(const Reader& r, std::uint32_t id) {
  std::vector<ElfNote> out;
  {
    NoteWriter w(true);
    w.zeros(32);
    NoteWriter pid(false);  // QEMU stores the pid unswapped: host (little-endian) order
    pid.u32(id);
    w.bytes(pid.take());
    w.zeros(76);
    w.u64(r("env.psw.mask"));
    w.u64(r("env.psw.addr"));
    for (unsigned i = 0; i < 16; ++i) w.u64(r(r.at("env.regs", i)));
    for (unsigned i = 0; i < 16; ++i) w.u32(r(r.at("env.aregs", i)));
    w.zeros(16);
    out.push_back({"CORE", 1, w.take()});
  }
  {
    NoteWriter w(true);
    w.u32(r.optional("env.fpc"));
    w.u32(0);
    for (unsigned i = 0; i < 16; ++i) w.u64(r.optional("env.vregs[" + std::to_string(i) + "][0]"));
    out.push_back({"CORE", 2, w.take()});
  }
  auto one = [&](std::uint32_t type, std::uint64_t v, unsigned bytes) {
    NoteWriter w(true);
    bytes == 4 ? w.u32(v) : w.u64(v);
    out.push_back({"LINUX", type, w.take()});
  };
  one(0x305, r("env.psa"), 4);  // prefix
  {
    NoteWriter w(true);
    for (unsigned i = 0; i < 16; ++i) w.u64(r(r.at("env.cregs", i)));
    out.push_back({"LINUX", 0x304, w.take()});
  }
  one(0x301, r("env.cputm"), 8);
  one(0x302, r("env.ckc"), 8);
  one(0x303, r("env.todpr"), 4);
  {
    NoteWriter w(true);
    for (unsigned i = 0; i < 16; ++i) w.u64(r.optional("env.vregs[" + std::to_string(i) + "][1]"));
    out.push_back({"LINUX", 0x309, w.take()});
  }
  {
    NoteWriter w(true);
    for (unsigned i = 16; i < 32; ++i) {
      w.u64(r.optional("env.vregs[" + std::to_string(i) + "][0]"));
      w.u64(r.optional("env.vregs[" + std::to_string(i) + "][1]"));
    }
    out.push_back({"LINUX", 0x30a, w.take()});
  }
  {
    NoteWriter w(true);
    for (unsigned i = 0; i < 4; ++i) w.u64(r.optional("env.gscb[" + std::to_string(i) + "]"));
    out.push_back({"LINUX", 0x30b, w.take()});
  }
  return out;
}

}  // namespace

CoreNotes cpu_notes(const GuestLayout& layout, const MachineFacts& facts) {
  CoreNotes out;
  ElfCore& core = out.core;
  core.class64 = true;
  const bool have_cpus = !facts.cpus.empty();
  if (!have_cpus)
    out.notes.push_back(facts.have_device_state ? "no CPU state in the stream: no CPU notes written"
                                                : "the device state was not decoded (no description): no CPU notes written");
  bool missing = false;
  auto fail_fields = [&](std::string_view what) {
    out.notes.push_back("CPU state lacks fields the " + std::string(what) + " needs: those notes are left out");
    core.notes.clear();
  };
  switch (layout.arch) {
    case GuestArch::x86_64: {
      bool lma = false;
      if (have_cpus) lma = (facts.cpus.front().uint("env.hflags").value_or(0) >> 14) & 1;  // HF_LMA_MASK
      core.machine = lma ? kEM_X86_64 : kEM_386;
      core.class64 = lma || layout.end() > 0xffffffffULL;
      const bool regs64 = have_cpus && facts.cpus.front().find("env.regs[15]");
      for (std::size_t i = 0; i < facts.cpus.size(); ++i) {
        Reader r{facts.cpus[i], &missing};
        const auto id = static_cast<std::uint32_t>(facts.cpus[i].instance_id + 1);
        core.notes.push_back(lma ? x86_64_prstatus(r, id) : i386_prstatus(r, id));
      }
      for (const FlatState& c : facts.cpus) core.notes.push_back(x86_qemu_note(Reader{c, &missing}, regs64));
      if (missing) fail_fields("x86 notes");
      break;
    }
    case GuestArch::aarch64: {
      core.machine = kEM_AARCH64;
      for (const FlatState& c : facts.cpus) {
        Reader r{c, &missing};
        core.notes.push_back(aarch64_prstatus(r, c.instance_id + 1));
        core.notes.push_back(aarch64_prfpreg(r));
      }
      if (missing) fail_fields("AArch64 notes");
      break;
    }
    case GuestArch::riscv64: {
      core.machine = kEM_RISCV;
      for (const FlatState& c : facts.cpus) core.notes.push_back(riscv64_prstatus(Reader{c, &missing}, c.instance_id + 1));
      if (missing) fail_fields("RISC-V note");
      break;
    }
    case GuestArch::ppc64:
      core.machine = kEM_PPC64;
      // Big-endian unless the guest takes interrupts little-endian (LPCR[ILE]): a
      // kernel running little-endian sets it; firmware and big-endian guests do not.
      core.big_endian = true;
      if (have_cpus) {
        const std::uint64_t lpcr = facts.cpus.front().uint("env.spr[318]").value_or(0);
        if (lpcr & (std::uint64_t{1} << 25)) core.big_endian = false;
      }
      for (const FlatState& c : facts.cpus) {
        auto n = ppc64_notes(Reader{c, &missing}, core.big_endian);
        core.notes.insert(core.notes.end(), n.begin(), n.end());
      }
      if (missing) fail_fields("ppc64 notes");
      break;
    case GuestArch::s390x:
      core.machine = kEM_S390;
      core.big_endian = true;
      for (const FlatState& c : facts.cpus) {
        auto n = s390x_notes(Reader{c, &missing}, c.instance_id + 1);
        core.notes.insert(core.notes.end(), n.begin(), n.end());
      }
      if (missing) fail_fields("s390x notes");
      break;
    case GuestArch::unknown:
      out.notes.push_back("unknown architecture: no CPU notes, e_machine 0");
      break;
  }
  return out;
}

}  // namespace migscope::guest
