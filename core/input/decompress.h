// Decompressing a stream held in memory (a mapped file's payload) as a
// SequentialReader, through Boost.Iostreams' filters: gzip (several members
// back to back), bzip2, xz, zstd (several frames). lzop has no filter yet.
#pragma once

#include <memory>
#include <string>

#include "migscope/input.h"

namespace migscope {

/// A reader of the decompressed bytes of `compressed` (which must outlive
/// it). `name` names the input in messages; `file_offset` is where
/// `compressed` starts in its file. ErrorCode::unsupported for lzop.
Result<std::unique_ptr<SequentialReader>> make_decompressor(Bytes compressed, Compression kind, std::string name,
                                                            std::uint64_t file_offset);

}  // namespace migscope
