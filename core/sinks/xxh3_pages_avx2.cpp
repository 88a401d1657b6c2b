// The XXH3 page kernel compiled for avx2 (flags in core/CMakeLists.txt).
#define XXH3_PAGES_NAME(x) x##_avx2
#include "sinks/xxh3_pages_impl.inc"
