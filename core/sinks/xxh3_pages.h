// Both hashes `hash` needs from a 4 KiB page in one pass over it: the page's
// XXH3-64, and its share of the XXH3-128 of the whole block. XXH3 accumulates
// each 64-byte stripe by addition, so the per-KiB sums of a page serve both
// the page's own hash and the block's stream; only the scrambles between
// KiBs differ (they are cheap). 65 stripe steps per page instead of 128:
// 19 GiB/s instead of 14 with AVX-512 on this machine (BM_HashBothPerPage,
// 256 MiB of pages, against the two libxxhash calls). Bit-exact with
// libxxhash (tests/xxh3_pages_test.cpp); default secret, 4096-byte pages only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <xxhash.h>

namespace migscope {

/// Per KiB of a page: the sum of its stripes' accumulations (from zero), the
/// last KiB as the block stream sees it (its last stripe a regular one).
struct alignas(64) Xxh3PageSums {
  std::uint64_t d[4][8];
};

/// One ISA's implementation.
struct Xxh3PageKernel {
  const char* isa;
  /// XXH3_64bits(page, 4096), and the page's sums for the block stream.
  std::uint64_t (*page)(const std::byte* page, Xxh3PageSums& sums);
  /// The block stream over one more page, given its sums.
  void (*add)(std::uint64_t* acc, const Xxh3PageSums& sums);
  /// The XXH3-128 of the block: `acc` after all pages but the last, which is
  /// given whole; `length` is the block's (a multiple of 4096).
  XXH128_hash_t (*finish)(std::uint64_t* acc, const std::byte* last_page, std::uint64_t length);
};

/// The fastest kernel this CPU runs.
const Xxh3PageKernel& xxh3_page_kernel();
/// Every kernel this CPU runs (for tests and benchmarks).
std::span<const Xxh3PageKernel* const> xxh3_page_kernels();

/// The XXH3-128 of a block made of whole 4 KiB pages, fed page by page.
class Xxh3BlockStream {
 public:
  explicit Xxh3BlockStream(const Xxh3PageKernel& k = xxh3_page_kernel()) : kernel_(&k) { reset(); }
  void reset();
  /// One more page (not the last), by its sums.
  void add(const Xxh3PageSums& sums) { kernel_->add(acc_, sums); }
  /// The last page, whole; `length` = the block's length.
  XXH128_hash_t finish(const std::byte* last_page, std::uint64_t length) {
    return kernel_->finish(acc_, last_page, length);
  }

 private:
  const Xxh3PageKernel* kernel_;
  alignas(64) std::uint64_t acc_[8];
};

}  // namespace migscope
