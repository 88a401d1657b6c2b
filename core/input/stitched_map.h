// A run of extents of a file (and of zeros) mapped one after the other into
// one range of address space: a qcow2 VM state spread over clusters becomes
// one contiguous, read-only, file-backed span, walked like a mapped file, with
// no copy. Needs page-aligned extents (clusters of 4 KiB or more).
#pragma once

#include <memory>
#include <span>
#include <string>

#include "input/qcow2.h"
#include "migscope/bytes.h"
#include "migscope/error.h"

namespace migscope {

class StitchedMapping {
 public:
  /// `size` bytes made of `extents` of the file at `path`; nothing (not an
  /// error) when they cannot be mapped so (unaligned, no such path, too many).
  static std::unique_ptr<StitchedMapping> map(const std::string& path, std::span<const VmstateExtent> extents,
                                              std::uint64_t size);
  ~StitchedMapping();
  StitchedMapping(const StitchedMapping&) = delete;
  StitchedMapping& operator=(const StitchedMapping&) = delete;

  Bytes bytes() const noexcept { return {base_, static_cast<std::size_t>(size_)}; }

 private:
  StitchedMapping() = default;
  std::byte* base_ = nullptr;
  std::uint64_t size_ = 0, mapped_ = 0;
};

}  // namespace migscope
