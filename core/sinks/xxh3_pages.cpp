#include "sinks/xxh3_pages.h"

namespace migscope {

namespace xxh3_pages {
#define XXH3_PAGES_DECLARE(isa)                                                                            \
  std::uint64_t page_##isa(const unsigned char* p, std::uint64_t (*d)[8]);                                 \
  void init_##isa(std::uint64_t* acc);                                                                     \
  void add_##isa(std::uint64_t* acc, const std::uint64_t (*d)[8]);                                         \
  void finish_##isa(std::uint64_t* acc, const unsigned char* p, std::uint64_t length, std::uint64_t* low, \
                    std::uint64_t* high);
XXH3_PAGES_DECLARE(portable)
#if defined(MIGSCOPE_XXH3_PAGES_X86)
XXH3_PAGES_DECLARE(avx2)
XXH3_PAGES_DECLARE(avx512)
#endif
}  // namespace xxh3_pages

namespace {

#define XXH3_PAGES_KERNEL(isa, label)                                                                    \
  Xxh3PageKernel {                                                                                       \
    label,                                                                                               \
        [](const std::byte* p, Xxh3PageSums& s) {                                                        \
          return xxh3_pages::page_##isa(reinterpret_cast<const unsigned char*>(p), s.d);                 \
        },                                                                                               \
        [](std::uint64_t* acc, const Xxh3PageSums& s) { xxh3_pages::add_##isa(acc, s.d); },             \
        [](std::uint64_t* acc, const std::byte* p, std::uint64_t length) {                               \
          XXH128_hash_t h;                                                                               \
          xxh3_pages::finish_##isa(acc, reinterpret_cast<const unsigned char*>(p), length, &h.low64,     \
                                   &h.high64);                                                           \
          return h;                                                                                      \
        }                                                                                                \
  }

const Xxh3PageKernel kPortable = XXH3_PAGES_KERNEL(portable, "portable");
#if defined(MIGSCOPE_XXH3_PAGES_X86)
const Xxh3PageKernel kAvx2 = XXH3_PAGES_KERNEL(avx2, "AVX2");
const Xxh3PageKernel kAvx512 = XXH3_PAGES_KERNEL(avx512, "AVX-512");
#endif

struct Supported {
  const Xxh3PageKernel* list[3];
  std::size_t n = 0;
  Supported() {
#if defined(MIGSCOPE_XXH3_PAGES_X86)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) list[n++] = &kAvx512;
    if (__builtin_cpu_supports("avx2")) list[n++] = &kAvx2;
#endif
    list[n++] = &kPortable;  // fastest first
  }
};

const Supported& supported() {
  static const Supported s;
  return s;
}

}  // namespace

const Xxh3PageKernel& xxh3_page_kernel() { return *supported().list[0]; }

std::span<const Xxh3PageKernel* const> xxh3_page_kernels() { return {supported().list, supported().n}; }

void Xxh3BlockStream::reset() { xxh3_pages::init_portable(acc_); }

}  // namespace migscope
