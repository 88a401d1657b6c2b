// Reading a qcow2 internal snapshot's VM state (the savevm stream QEMU wrote
// past the end of the virtual disk) as a SequentialReader, straight from the
// image file through the snapshot's L1/L2 tables: no QEMU, no copy of the image.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "migscope/input.h"

namespace migscope {

/// True for a file that starts with the qcow2 magic "QFI\xfb".
bool starts_like_qcow2(Bytes head) noexcept;

/// The `snapshot.vm_state_size` bytes of its VM state. `file` (the whole
/// image, mapped) must outlive the reader; unallocated and zero clusters and
/// subclusters read as zeros, compressed clusters (deflate or zstd, as the
/// header says) are decompressed.
/// `release_behind`: `file` is a read-only file mapping, whose pages read
/// leave the resident set every 16 MiB of VM state (they stay in the page
/// cache). Pass false for memory you own: released, it would read back as zeros.
std::unique_ptr<SequentialReader> open_vmstate(Bytes file, const Qcow2Image& image, const Qcow2Snapshot& snapshot,
                                               std::string name, bool release_behind = true);

/// A piece of a VM state: `length` bytes at `offset` in it, which are the
/// image's bytes at `host`, or zeros.
struct VmstateExtent {
  std::uint64_t offset = 0, length = 0, host = 0;
  bool zero = false;
};

/// The VM state as at most `max_extents` extents, when every cluster is plain
/// data, zero or unallocated (savevm writes plain clusters, mostly in order):
/// it can then be mapped in place, with no copy (input/stitched_map.h).
std::optional<std::vector<VmstateExtent>> vmstate_extents(Bytes file, const Qcow2Image& image, const Qcow2Snapshot& snapshot,
                                                          std::size_t max_extents);

}  // namespace migscope
