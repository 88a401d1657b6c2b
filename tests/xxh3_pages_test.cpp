// The XXH3 page kernel against libxxhash: every ISA build this CPU runs, on
// random, zero and patterned pages, for blocks of 1 to 64 pages.
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include <xxhash.h>

#include "sinks/xxh3_pages.h"

namespace migscope {
namespace {

std::vector<std::byte> pages_of(std::size_t n, std::uint64_t seed) {
  std::vector<std::byte> v(n * 4096);
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i + 8 <= v.size(); i += 8) {
    const std::uint64_t x = rng();
    std::memcpy(&v[i], &x, 8);
  }
  for (std::size_t p = 0; p < n; p += 3) std::memset(&v[p * 4096], 0, 4096);         // zero pages
  for (std::size_t p = 1; p < n; p += 5) std::memset(&v[p * 4096], 0xff, 4096);      // all ones
  for (std::size_t p = 2; p < n; p += 7) v[p * 4096 + 4095] = std::byte{0x5a};        // a last byte alone
  return v;
}

TEST(Xxh3Pages, EveryKernelMatchesLibxxhash) {
  const auto kernels = xxh3_page_kernels();
  ASSERT_FALSE(kernels.empty());
  EXPECT_EQ(&xxh3_page_kernel(), kernels[0]);
  for (const Xxh3PageKernel* k : kernels) {
    SCOPED_TRACE(k->isa);
    for (std::size_t pages : {1u, 2u, 3u, 4u, 17u, 64u}) {
      SCOPED_TRACE(pages);
      const std::vector<std::byte> block = pages_of(pages, pages * 7919);
      Xxh3BlockStream stream(*k);
      Xxh3PageSums sums;
      for (std::size_t p = 0; p < pages; ++p) {
        const std::byte* page = block.data() + p * 4096;
        ASSERT_EQ(k->page(page, sums), XXH3_64bits(page, 4096)) << "page " << p;
        if (p + 1 < pages) stream.add(sums);
      }
      const XXH128_hash_t got = stream.finish(block.data() + (pages - 1) * 4096, block.size());
      const XXH128_hash_t want = XXH3_128bits(block.data(), block.size());
      EXPECT_EQ(got.low64, want.low64);
      EXPECT_EQ(got.high64, want.high64);
    }
  }
}

TEST(Xxh3Pages, StreamCanBeReusedAfterReset) {
  const std::vector<std::byte> a = pages_of(5, 1), b = pages_of(5, 2);
  Xxh3BlockStream stream;
  Xxh3PageSums sums;
  for (const auto* block : {&a, &b}) {
    stream.reset();
    for (std::size_t p = 0; p + 1 < 5; ++p) {
      xxh3_page_kernel().page(block->data() + p * 4096, sums);
      stream.add(sums);
    }
    const XXH128_hash_t got = stream.finish(block->data() + 4 * 4096, block->size());
    EXPECT_EQ(got.low64, XXH3_128bits(block->data(), block->size()).low64);
  }
}

}  // namespace
}  // namespace migscope
