// Decompressing a stream held in memory (a mapped file's payload) as a
// SequentialReader, through Boost.Iostreams' filters: gzip (several members
// back to back), bzip2, xz, zstd (several frames); lzop, which has no Boost
// filter, through input/lzop.h (liblzo2).
#pragma once

#include <memory>
#include <string>

#include "migscope/input.h"

namespace migscope {

/// A reader of the decompressed bytes of `compressed` (which must outlive
/// it). `name` names the input in messages; `file_offset` is where
/// `compressed` starts in its file. An lzop header is checked at once (its
/// errors come from here); damage elsewhere comes from read().
Result<std::unique_ptr<SequentialReader>> make_decompressor(Bytes compressed, Compression kind, std::string name,
                                                            std::uint64_t file_offset);

}  // namespace migscope
