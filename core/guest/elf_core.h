// An ELF core file's headers, as QEMU's dump-guest-memory writes them
// (dump/dump.c): an ELF header, one PT_NOTE then one PT_LOAD per
// guest-physical range (p_vaddr = p_paddr, p_filesz = p_memsz), and the
// notes right after the program headers. The segment data is written
// elsewhere (at each PT_LOAD's file offset); only the headers live here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace migscope::guest {

inline constexpr std::uint16_t kEM_386 = 3, kEM_PPC64 = 21, kEM_S390 = 22, kEM_X86_64 = 62, kEM_AARCH64 = 183,
                               kEM_RISCV = 243;

struct ElfNote {
  std::string name;  ///< "CORE", "QEMU", "LINUX"
  std::uint32_t type = 0;
  std::vector<std::byte> desc;
};

struct ElfLoad {
  std::uint64_t paddr = 0, length = 0, file_offset = 0;
};

struct ElfCore {
  bool class64 = true;
  bool big_endian = false;
  std::uint16_t machine = 0;
  std::uint32_t flags = 0;  ///< e_flags
  std::vector<ElfNote> notes;
  std::vector<ElfLoad> loads;
};

/// Bytes of the ELF header, the program headers and the notes.
std::uint64_t elf_headers_size(bool class64, std::size_t loads, const std::vector<ElfNote>& notes);
/// The ELF header, program headers and notes, to be written at offset 0.
std::vector<std::byte> elf_headers(const ElfCore& core);

/// Appends integers to a note descriptor in the core's byte order.
class NoteWriter {
 public:
  explicit NoteWriter(bool big_endian) : big_(big_endian) {}
  void u16(std::uint64_t v) { put(v, 2); }
  void u32(std::uint64_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void zeros(std::size_t n) { out_.insert(out_.end(), n, std::byte{0}); }
  void bytes(const std::vector<std::byte>& b) { out_.insert(out_.end(), b.begin(), b.end()); }
  std::size_t size() const noexcept { return out_.size(); }
  std::vector<std::byte> take() { return std::move(out_); }

 private:
  void put(std::uint64_t v, unsigned n);
  bool big_;
  std::vector<std::byte> out_;
};

}  // namespace migscope::guest
