// Decompressing a stream held in memory (a mapped file's payload) as a
// SequentialReader, through Boost.Iostreams' filters: gzip (several members
// back to back), bzip2, xz, zstd (several frames, followed by
// input/zstd_frames so a cut is seen); lzop, which has no Boost filter,
// through input/lzop.h (liblzo2).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "migscope/input.h"

namespace migscope {

/// A reader of the decompressed bytes of `compressed` (which must outlive
/// it). `name` names the input in messages; `file_offset` is where
/// `compressed` starts in its file. An lzop header is checked at once (its
/// errors come from here); damage elsewhere comes from read().
/// `release_behind`: `compressed` is part of a read-only file mapping, whose
/// pages behind the reader leave the resident set as it goes (they stay in
/// the page cache). Pass false for memory you own: released, it would read
/// back as zeros.
/// `consumed`, if set, gets the file offset up to which the compressed bytes were read.
Result<std::unique_ptr<SequentialReader>> make_decompressor(Bytes compressed, Compression kind, std::string name,
                                                            std::uint64_t file_offset, bool release_behind = true,
                                                            std::atomic<std::uint64_t>* consumed = nullptr);

/// For data known to be cut short (the payload of an incomplete libvirt
/// save): `reader`, whose first error ends its bytes instead. What it read
/// before the damage is kept (make_decompressor's readers hand it out
/// first), so the stream walked is what was written before the cut.
std::unique_ptr<SequentialReader> end_at_damage(std::unique_ptr<SequentialReader> reader);

/// `status` (of decompressing a payload), or for the stream of an incomplete
/// libvirt save its error named as such: a payload too short to hold a
/// stream is cut, not damaged or foreign (ErrorCode::truncated).
Status name_if_incomplete(const StreamLocation& location, Status status);

}  // namespace migscope
