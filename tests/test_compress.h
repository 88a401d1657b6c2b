// Compressing test data in memory with zlib (deflate with any window: gzip,
// raw as qcow2 clusters hold it). Header-only: tests/CMakeLists.txt globs
// only *_test.cpp.
#pragma once

#include <string>

#include <gtest/gtest.h>
#include <zlib.h>

namespace migscope::test {

/// `data` deflated; `window_bits` as deflateInit2 takes it (16 + 15: gzip,
/// negative: raw deflate).
inline std::string deflate_bytes(const std::string& data, int level, int window_bits, int mem_level) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, level, Z_DEFLATED, window_bits, mem_level, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace migscope::test
