// The XXH3 page kernel compiled for avx512 (flags in core/CMakeLists.txt).
#define XXH3_PAGES_NAME(x) x##_avx512
#include "sinks/xxh3_pages_impl.inc"
