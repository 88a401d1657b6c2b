// The XXH3 page kernel compiled with the default flags (SSE2 on x86-64, NEON on arm64).
#define XXH3_PAGES_NAME(x) x##_portable
#include "sinks/xxh3_pages_impl.inc"
