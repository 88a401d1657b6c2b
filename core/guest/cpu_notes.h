// The ELF identity and the CPU notes QEMU's dump-guest-memory writes for a
// guest (target/*/arch_dump.c), filled from the decoded "cpu" sections.
#pragma once

#include <string>
#include <vector>

#include "guest/elf_core.h"
#include "guest/machine_facts.h"
#include "migscope/guest.h"

namespace migscope::guest {

struct CoreNotes {
  ElfCore core;                    ///< class, byte order, machine and notes (no loads yet)
  std::vector<std::string> notes;  ///< what could not be written, and why
};

/// Decide the ELF identity as QEMU does (x86: EM_X86_64 when the first CPU
/// is in long mode, else EM_386 in ELFCLASS64 only if memory reaches 4 GiB)
/// and build the notes: per CPU a "CORE" NT_PRSTATUS (all CPUs first), then
/// per CPU QEMU's own note where the architecture has one.
CoreNotes cpu_notes(const GuestLayout& layout, const MachineFacts& facts);

}  // namespace migscope::guest
