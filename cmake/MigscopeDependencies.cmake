# Every dependency is a Debian package; scripts/install-deps.sh installs them.
find_package(Boost 1.74 REQUIRED COMPONENTS iostreams program_options)

find_path(RAPIDJSON_INCLUDE_DIR rapidjson/document.h)
if(NOT RAPIDJSON_INCLUDE_DIR)
  message(FATAL_ERROR "RapidJSON not found: apt-get install rapidjson-dev")
endif()
add_library(migscope_rapidjson INTERFACE)
target_include_directories(migscope_rapidjson SYSTEM INTERFACE ${RAPIDJSON_INCLUDE_DIR})
# std::string support and 64-bit safe parsing; assertions become our own checks.
target_compile_definitions(migscope_rapidjson INTERFACE RAPIDJSON_HAS_STDSTRING=1)
# Whitespace skipped 16 bytes at a time in in-place parses (json::parse_in_place:
# -dump-vmstate documents are mostly indentation). SSE2 and NEON are the
# baselines of amd64 and arm64, so every machine of the architecture has them.
# The SIMD scans load aligned 16-byte blocks that may run past the terminating
# NUL (never past its page, so harmless), which AddressSanitizer reports as an
# overflow of the string's allocation: sanitizer and fuzz builds parse bytewise.
if(MIGSCOPE_SANITIZE OR MIGSCOPE_FUZZ)
  # no SIMD: see above
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  target_compile_definitions(migscope_rapidjson INTERFACE RAPIDJSON_SSE2=1)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  target_compile_definitions(migscope_rapidjson INTERFACE RAPIDJSON_NEON=1)
endif()

# xxHash: Debian's libxxhash exports runtime-dispatched XXH3 (SSE2/AVX2/AVX-512);
# xxh_x86dispatch.h maps the plain calls onto them. Fail loudly if it is missing.
find_path(XXHASH_INCLUDE_DIR xxhash.h)
find_library(XXHASH_LIBRARY xxhash)
if(NOT XXHASH_INCLUDE_DIR OR NOT XXHASH_LIBRARY)
  message(FATAL_ERROR "xxHash not found: apt-get install libxxhash-dev")
endif()
if(NOT EXISTS ${XXHASH_INCLUDE_DIR}/xxh_x86dispatch.h)
  message(FATAL_ERROR "xxh_x86dispatch.h not found: the dispatched XXH3 is required for speed")
endif()
# An imported target, so the installed package can name it too (migscopeConfig.cmake).
add_library(migscope::xxhash UNKNOWN IMPORTED GLOBAL)
set_target_properties(migscope::xxhash PROPERTIES IMPORTED_LOCATION ${XXHASH_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${XXHASH_INCLUDE_DIR})
add_library(migscope_xxhash INTERFACE)
target_link_libraries(migscope_xxhash INTERFACE migscope::xxhash)

# LZO (liblzo2): lzop is one of libvirt's save image formats and Boost.Iostreams
# has no lzop filter; core/input/lzop.cpp reads the container and decompresses
# its blocks with lzo1x_decompress_safe.
find_path(LZO2_INCLUDE_DIR lzo/lzo1x.h)
find_library(LZO2_LIBRARY lzo2)
if(NOT LZO2_INCLUDE_DIR OR NOT LZO2_LIBRARY)
  message(FATAL_ERROR "LZO not found (lzo/lzo1x.h, liblzo2): apt-get install liblzo2-dev")
endif()
add_library(migscope::lzo2 UNKNOWN IMPORTED GLOBAL)
set_target_properties(migscope::lzo2 PROPERTIES IMPORTED_LOCATION ${LZO2_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${LZO2_INCLUDE_DIR})

# zstd (libzstd): zstd streams (core/input/decompress.cpp; Boost.Iostreams'
# filter ends quietly at a cut frame) and qcow2 clusters of compression type
# zstd (core/input/qcow2.cpp, as QEMU reads them) go through ZSTD_decompressStream.
find_path(ZSTD_INCLUDE_DIR zstd.h)
find_library(ZSTD_LIBRARY zstd)
if(NOT ZSTD_INCLUDE_DIR OR NOT ZSTD_LIBRARY)
  message(FATAL_ERROR "zstd not found (zstd.h, libzstd): apt-get install libzstd-dev")
endif()
add_library(migscope::zstd UNKNOWN IMPORTED GLOBAL)
set_target_properties(migscope::zstd PROPERTIES IMPORTED_LOCATION ${ZSTD_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${ZSTD_INCLUDE_DIR})

find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)
