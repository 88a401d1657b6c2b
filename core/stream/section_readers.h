// The iterative section formats other than RAM and vmstate devices, read
// structurally: each reader moves the cursor past one section body and checks
// every length against the bytes left (contents are not interpreted further).
#pragma once

#include <cstdint>

#include "migscope/error.h"
#include "wire/cursor.h"

namespace migscope {

/// spapr/htab (hw/ppc/spapr.c): header, then chunks up to an all-zero one.
Status read_htab(Cursor& c);
/// s390-storage_attributes (hw/s390x/s390-stattrib.c).
Status read_storage_attributes(Cursor& c);
/// s390-skeys, old-style (hw/s390x/s390-skeys.c).
Status read_storage_keys(Cursor& c);
/// dirty-bitmap (migration/block-dirty-bitmap.c).
Status read_dirty_bitmap(Cursor& c);
/// 7.2 block migration (migration/block.c).
Status read_block_migration(Cursor& c);

/// How a vfio body ended: its END_OF_STATE marker, or the PCI config state,
/// an undescribed vmstate that runs to the section footer.
enum class VfioEnd : std::uint8_t { end_of_state, config_state };
/// vfio (hw/vfio/migration.c): be64 markers, device data with a be64 size.
Result<VfioEnd> read_vfio(Cursor& c);

}  // namespace migscope
