// Shared helpers of the micro-benchmarks: an in-memory synthetic stream (one
// RAM block, page records of chosen kinds), a walk into a PageIndex, and where
// to find the corpus the build decompressed (<build>/corpus, or
// $MIGSCOPE_CORPUS_DIR).
#pragma once

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "input/input.h"
#include "ram/xbzrle.h"
#include "migscope/stream.h"
#include "wire/endian.h"

namespace migscope::bench {

inline constexpr std::uint64_t kPage = 4096;

/// Deterministic bytes (splitmix64 counter), enough for benchmark data.
inline void fill_pseudo_random(std::byte* p, std::size_t n, std::uint64_t seed) {
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t x = seed + i * 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    x ^= x >> 31;
    std::memcpy(p + i, &x, std::min<std::size_t>(8, n - i));
  }
}

/// Appends QEMU wire records to a byte vector.
class StreamWriter {
 public:
  void u8(std::uint8_t v) { b_.push_back(std::byte{v}); }
  void be16(std::uint16_t v) { grow(2, [&](std::byte* p) { store_be16(p, v); }); }
  void be32(std::uint32_t v) { grow(4, [&](std::byte* p) { store_be32(p, v); }); }
  void be64(std::uint64_t v) { grow(8, [&](std::byte* p) { store_be64(p, v); }); }
  void raw(const void* p, std::size_t n) {
    const auto* s = static_cast<const std::byte*>(p);
    b_.insert(b_.end(), s, s + n);
  }
  void raw(std::string_view s) { raw(s.data(), s.size()); }
  void counted(std::string_view s) {
    u8(static_cast<std::uint8_t>(s.size()));
    raw(s);
  }
  std::byte* append(std::size_t n) {
    b_.resize(b_.size() + n);
    return b_.data() + b_.size() - n;
  }
  std::vector<std::byte>& bytes() { return b_; }

 private:
  template <typename F>
  void grow(std::size_t n, F f) {
    f(append(n));
  }
  std::vector<std::byte> b_;
};

enum class SynthKind { page, zero, mixed, xbzrle, zlib };

/// A v3 stream: configuration, START "ram" (MEM_SIZE, one block "pc.ram" of
/// `pages` pages), PART sections of page records, END, EOF; no vmdesc.
/// mixed = 2/3 PAGE, 1/3 ZERO; xbzrle = every page as PAGE, then every page
/// again as an XBZRLE delta; zlib = every page as COMPRESS_PAGE.
inline std::vector<std::byte> synth_stream(std::uint64_t pages, SynthKind kind) {
  StreamWriter w;
  w.be32(0x5145564d);
  w.be32(3);
  w.u8(0x07);
  w.be32(10);
  w.raw("pc-q35-7.2");
  w.u8(0x01);
  w.be32(2);
  w.counted("ram");
  w.be32(0);
  w.be32(4);
  w.be64((pages * kPage) | 0x04);
  w.counted("pc.ram");
  w.be64(pages * kPage);
  w.be64(0x10);
  w.u8(0x7e);
  w.be32(2);
  std::vector<std::byte> page(kPage), prev(kPage), delta(2 * kPage), z(compressBound(kPage));
  auto header = [&](std::uint64_t p, std::uint32_t flag) {
    bool named = p % 16384 != 0;
    w.be64(p * kPage | flag | (named ? 0x20 : 0));
    if (!named) w.counted("pc.ram");
  };
  auto part = [&](auto&& per_page) {
    for (std::uint64_t p = 0; p < pages; ++p) {
      if (p % 16384 == 0) {
        if (p) {
          w.be64(0x10);
          w.u8(0x7e);
          w.be32(2);
        }
        w.u8(0x02);
        w.be32(2);
      }
      per_page(p);
    }
    w.be64(0x10);
    w.u8(0x7e);
    w.be32(2);
  };
  auto data_page = [&](std::uint64_t p) {
    header(p, 0x08);
    fill_pseudo_random(w.append(kPage), kPage, p);
  };
  switch (kind) {
    case SynthKind::page:
      part(data_page);
      break;
    case SynthKind::zero:
      part([&](std::uint64_t p) {
        header(p, 0x02);
        w.u8(0);
      });
      break;
    case SynthKind::mixed:
      part([&](std::uint64_t p) {
        if (p % 3 == 2) {
          header(p, 0x02);
          w.u8(0);
        } else {
          data_page(p);
        }
      });
      break;
    case SynthKind::xbzrle:
      part(data_page);
      part([&](std::uint64_t p) {
        fill_pseudo_random(prev.data(), kPage, p);
        page = prev;
        for (std::size_t r = 0; r < 4; ++r)
          for (std::size_t i = 0; i < 32; ++i) page[r * 1000 + i] ^= std::byte{0x5a};
        long n = xbzrle_encode(prev, page, delta, kPage);
        header(p, 0x40);
        w.u8(0x01);
        w.be16(static_cast<std::uint16_t>(n));
        w.raw(delta.data(), static_cast<std::size_t>(n));
      });
      break;
    case SynthKind::zlib:
      part([&](std::uint64_t p) {
        // Half random, half zero: compresses to about half a page, like a typical guest page.
        std::memset(page.data(), 0, kPage);
        fill_pseudo_random(page.data(), kPage / 2, p);
        uLongf n = static_cast<uLongf>(z.size());
        compress2(reinterpret_cast<Bytef*>(z.data()), &n, reinterpret_cast<const Bytef*>(page.data()), kPage, 1);
        header(p, 0x100);
        w.be32(static_cast<std::uint32_t>(n));
        w.raw(z.data(), n);
      });
      break;
  }
  w.u8(0x03);
  w.be32(2);
  w.be64(0x10);
  w.u8(0x7e);
  w.be32(2);
  w.u8(0x00);
  return std::move(w.bytes());
}

/// Walk `stream` (starting at offset 0) with `visitor`; aborts on error.
inline void walk_or_die(Bytes stream, StreamVisitor& visitor, const Vmdesc* vmdesc = nullptr) {
  auto where = locate_stream(stream);
  if (!where.ok()) {
    std::fprintf(stderr, "locate_stream: %s\n", where.error().message().c_str());
    std::abort();
  }
  WalkOptions o;
  o.vmdesc = vmdesc;
  auto r = walk_stream(stream, where.value(), o, visitor);
  if (!r.ok()) {
    std::fprintf(stderr, "walk_stream: %s\n", r.error().message().c_str());
    std::abort();
  }
}

/// <build>/corpus: $MIGSCOPE_CORPUS_DIR, else ../corpus next to this executable,
/// else the build tree this benchmark was configured in.
inline std::filesystem::path corpus_dir() {
  if (const char* env = std::getenv("MIGSCOPE_CORPUS_DIR")) return env;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto p = exe.parent_path().parent_path() / "corpus";
    if (std::filesystem::is_directory(p)) return p;
  }
#ifdef MIGSCOPE_BENCH_CORPUS_DIR
  return MIGSCOPE_BENCH_CORPUS_DIR;
#else
  return "corpus";
#endif
}

/// A corpus file's path, or nullopt when it is absent (the benchmark then skips).
inline std::optional<std::string> corpus_file(std::string_view relative) {
  auto p = corpus_dir() / relative;
  if (!std::filesystem::is_regular_file(p)) return std::nullopt;
  return p.string();
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace migscope::bench
