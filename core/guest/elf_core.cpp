#include "guest/elf_core.h"

namespace migscope::guest {

namespace {

constexpr std::uint32_t kPT_LOAD = 1, kPT_NOTE = 4;
constexpr std::uint16_t kET_CORE = 4;
constexpr std::uint32_t kPF_NONE = 0;  // QEMU leaves p_flags 0

std::uint64_t align4(std::uint64_t v) { return (v + 3) & ~std::uint64_t{3}; }

std::uint64_t notes_size(const std::vector<ElfNote>& notes) {
  std::uint64_t n = 0;
  // Elf32_Nhdr and Elf64_Nhdr are both three 32-bit words.
  for (const ElfNote& e : notes) n += 12 + align4(e.name.size() + 1) + align4(e.desc.size());
  return n;
}

}  // namespace

void NoteWriter::put(std::uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; ++i) {
    const unsigned shift = big_ ? 8 * (n - 1 - i) : 8 * i;
    out_.push_back(static_cast<std::byte>((v >> shift) & 0xff));
  }
}

std::uint64_t elf_headers_size(bool class64, std::size_t loads, const std::vector<ElfNote>& notes) {
  const std::uint64_t ehdr = class64 ? 64 : 52, phdr = class64 ? 56 : 32;
  return ehdr + phdr * (loads + 1) + notes_size(notes);
}

std::vector<std::byte> elf_headers(const ElfCore& core) {
  NoteWriter w(core.big_endian);
  const bool c64 = core.class64;
  const std::uint64_t ehdr = c64 ? 64 : 52, phdr = c64 ? 56 : 32;
  const std::size_t phnum = core.loads.size() + 1;
  const std::uint64_t note_offset = ehdr + phdr * phnum;
  auto word = [&](std::uint64_t v) { c64 ? w.u64(v) : w.u32(v); };

  // e_ident
  const std::byte ident[16] = {std::byte{0x7f}, std::byte{'E'}, std::byte{'L'}, std::byte{'F'},
                               std::byte{static_cast<unsigned char>(c64 ? 2 : 1)},
                               std::byte{static_cast<unsigned char>(core.big_endian ? 2 : 1)}, std::byte{1}};
  std::vector<std::byte> id(ident, ident + 16);
  w.bytes(id);
  w.u16(kET_CORE);
  w.u16(core.machine);
  w.u32(1);             // e_version
  word(0);              // e_entry
  word(ehdr);           // e_phoff
  word(0);              // e_shoff
  w.u32(core.flags);
  w.u16(ehdr);
  w.u16(phdr);
  w.u16(phnum < 0xffff ? phnum : 0xffff);
  w.u16(c64 ? 64 : 40);  // e_shentsize
  w.u16(0);              // e_shnum
  w.u16(0);              // e_shstrndx

  const std::uint64_t nsize = notes_size(core.notes);
  auto program_header = [&](std::uint32_t type, std::uint32_t flags, std::uint64_t offset, std::uint64_t paddr, std::uint64_t size) {
    w.u32(type);
    if (c64) w.u32(flags);
    word(offset);
    word(paddr);  // p_vaddr
    word(paddr);  // p_paddr
    word(size);   // p_filesz
    word(size);   // p_memsz
    if (!c64) w.u32(flags);
    word(0);      // p_align
  };
  program_header(kPT_NOTE, 0, note_offset, 0, nsize);
  for (const ElfLoad& l : core.loads) program_header(kPT_LOAD, kPF_NONE, l.file_offset, l.paddr, l.length);

  for (const ElfNote& n : core.notes) {
    w.u32(n.name.size() + 1);
    w.u32(n.desc.size());
    w.u32(n.type);
    std::vector<std::byte> name(align4(n.name.size() + 1), std::byte{0});
    for (std::size_t i = 0; i < n.name.size(); ++i) name[i] = static_cast<std::byte>(n.name[i]);
    w.bytes(name);
    w.bytes(n.desc);
    w.zeros(align4(n.desc.size()) - n.desc.size());
  }
  return w.take();
}

}  // namespace migscope::guest
