// The guest-physical map of a machine, from MachineFacts: QEMU's rules per
// machine family (hw/i386/pc_piix.c, pc_q35.c, pc.c, microvm.c; hw/arm/virt.c,
// hw/riscv/virt.c, hw/ppc/spapr.c, hw/s390x) and the device state that moves
// things at run time (the host bridge's PAM and SMRAM registers, TSEG, a
// legacy VGA window). It lists what dump-guest-memory would dump: RAM and ROM
// regions of address space "memory", not MMIO, not pflash (ROM devices).
#pragma once

#include "guest/machine_facts.h"
#include "migscope/error.h"
#include "migscope/guest.h"

namespace migscope::guest {

/// ErrorCode::unsupported (with what to tell) when the layout cannot be
/// determined: no known machine family, or a split the stream does not say.
Result<GuestLayout> compute_layout(const MachineFacts& facts, const LayoutOverrides& overrides);

}  // namespace migscope::guest
