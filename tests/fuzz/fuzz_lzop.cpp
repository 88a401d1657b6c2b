// libFuzzer target: the lzop reader (core/input/lzop.h), the reader of
// libvirt's lzop saves and of whole-file lzop streams.
//  1. The input as an lzop file: parse_lzop_header, then every byte the
//     reader gives, in chunks whose size the input picks (so blocks go both
//     straight into the caller's buffer and through the block buffer). Errors
//     must be clean values (fuzz_common.h) and stay; output is bounded.
//  2. A round trip: the input (after its first byte) written as an lzop file
//     here, with the checksums, block size, method and delta filter that the
//     first byte picks, must read back exactly.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <lzo/lzo1x.h>
#include <zlib.h>

#include "fuzz_common.h"
#include "input/lzop.h"
#include "wire/endian.h"

namespace {

using namespace migscope;

// Far more than a fuzz input can honestly describe, far less than a timeout.
constexpr std::uint64_t kMaxOutput = 256u << 20;

void read_as_lzop(const std::uint8_t* data, std::size_t size) {
  const Bytes file{reinterpret_cast<const std::byte*>(data), size};
  auto header = parse_lzop_header(file, 0);
  if (header.ok() && header->size > size) std::abort();
  if (!header.ok()) fuzz::check_error(header.error(), size, {ErrorCode::corrupt, ErrorCode::truncated, ErrorCode::unsupported});

  auto reader = make_lzop_reader(file, "fuzz.lzo", 0, /*release_behind=*/false);
  if (!reader.ok()) {
    fuzz::check_error(reader.error(), size, {ErrorCode::corrupt, ErrorCode::truncated, ErrorCode::unsupported});
    if (header.ok()) fuzz::fail("the header parses, but the reader refuses it", reader.error());
    return;
  }
  const std::size_t chunk = size == 0 ? 1 : 1 + (static_cast<std::size_t>(data[size - 1]) << 11);  // 1 B .. 510 KiB
  std::vector<std::byte> buf(chunk);
  std::uint64_t total = 0;
  while (total < kMaxOutput) {
    auto n = (*reader)->read(buf);
    if (!n.ok()) {
      fuzz::check_error(n.error(), size, {ErrorCode::corrupt, ErrorCode::truncated, ErrorCode::unsupported});
      auto again = (*reader)->read(buf);
      if (again.ok() || again.error().offset != n.error().offset) fuzz::fail("a failed reader recovered", n.error());
      return;
    }
    if (*n > buf.size()) std::abort();
    if (*n == 0) {
      auto after = (*reader)->read(buf);
      if (!after.ok() || *after != 0) std::abort();  // the end stays the end
      return;
    }
    total += *n;
  }
}

void put_be32(std::vector<unsigned char>& v, std::uint32_t x) {
  std::byte b[4];
  store_be32(b, x);
  for (std::byte c : b) v.push_back(static_cast<unsigned char>(c));
}

std::uint32_t adler(const unsigned char* p, std::size_t n) { return static_cast<std::uint32_t>(::adler32_z(1, p, n)); }
std::uint32_t crc(const unsigned char* p, std::size_t n) { return static_cast<std::uint32_t>(::crc32_z(0, p, n)); }

// An lzop file of `payload` as lzop 1.04 writes one: the sums lzop computes,
// a block stored raw when LZO1X does not make it smaller.
std::vector<unsigned char> write_lzop(const unsigned char* payload, std::size_t size, std::uint8_t choice) {
  std::uint32_t flags = 0x03000000;  // OS Unix
  if (choice & 0x01) flags |= lzop_flags::adler32_d;
  if (choice & 0x02) flags |= lzop_flags::crc32_d;
  if (choice & 0x04) flags |= lzop_flags::adler32_c;
  if (choice & 0x08) flags |= lzop_flags::crc32_c;
  if (choice & 0x10) flags |= lzop_flags::header_crc32;
  const std::uint32_t filter = (choice & 0x20) ? 1u + (choice >> 6) * 5u : 0u;  // 1, 6, 11, 16
  if (filter) flags |= lzop_flags::filter;
  const std::size_t block = (choice & 0x40) ? 4096 : 256 * 1024;
  const std::uint8_t method = (choice & 0x80) ? 2 : 1;

  std::vector<unsigned char> f = {0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a};
  // version 0x1040, LZO 0x20a0, needed to extract 0x0940 (0x0950 with a filter), method, level
  f.insert(f.end(), {0x10, 0x40, 0x20, 0xa0, 0x09, static_cast<unsigned char>(filter ? 0x50 : 0x40), method, 5});
  put_be32(f, flags);
  if (filter) put_be32(f, filter);
  put_be32(f, 0);           // mode
  put_be32(f, 1234567890);  // mtime low
  put_be32(f, 0);           // mtime high
  f.push_back(4);
  f.insert(f.end(), {'f', 'u', 'z', 'z'});
  put_be32(f, (flags & lzop_flags::header_crc32) ? crc(f.data() + 9, f.size() - 9) : adler(f.data() + 9, f.size() - 9));

  static std::vector<unsigned char> wrkmem(LZO1X_1_15_MEM_COMPRESS > LZO1X_1_MEM_COMPRESS ? LZO1X_1_15_MEM_COMPRESS
                                                                                        : LZO1X_1_MEM_COMPRESS);
  std::vector<unsigned char> filtered, packed;
  for (std::size_t at = 0; at < size; at += block) {
    const std::size_t n = std::min(block, size - at);
    const unsigned char* raw = payload + at;
    filtered.assign(raw, raw + n);
    // lzop's filter: each byte minus the one `filter` bytes before it.
    if (filter)
      for (std::size_t k = n; k-- > filter;) filtered[k] = static_cast<unsigned char>(filtered[k] - filtered[k - filter]);
    packed.resize(n + n / 16 + 64 + 3);
    lzo_uint packed_len = 0;
    const int r = method == 1 ? lzo1x_1_compress(filtered.data(), n, packed.data(), &packed_len, wrkmem.data())
                              : lzo1x_1_15_compress(filtered.data(), n, packed.data(), &packed_len, wrkmem.data());
    if (r != LZO_E_OK) std::abort();
    const bool stored = packed_len >= n;
    const unsigned char* body = stored ? filtered.data() : packed.data();
    const std::size_t body_len = stored ? n : packed_len;
    put_be32(f, static_cast<std::uint32_t>(n));
    put_be32(f, static_cast<std::uint32_t>(body_len));
    if (flags & lzop_flags::adler32_d) put_be32(f, adler(raw, n));
    if (flags & lzop_flags::crc32_d) put_be32(f, crc(raw, n));
    if (!stored && (flags & lzop_flags::adler32_c)) put_be32(f, adler(body, body_len));
    if (!stored && (flags & lzop_flags::crc32_c)) put_be32(f, crc(body, body_len));
    f.insert(f.end(), body, body + body_len);
  }
  put_be32(f, 0);
  return f;
}

void round_trip(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return;
  const std::size_t n = std::min<std::size_t>(size - 1, 600 * 1024);
  const std::vector<unsigned char> file = write_lzop(data + 1, n, data[0]);
  auto reader = make_lzop_reader(Bytes{reinterpret_cast<const std::byte*>(file.data()), file.size()}, "rt.lzo", 0, /*release_behind=*/false);
  if (!reader.ok()) fuzz::fail("round trip: header refused", reader.error());
  std::vector<std::byte> out(n + 1), buf(1 + data[0] * 997u);
  std::size_t got = 0;
  for (;;) {
    auto r = (*reader)->read(buf);
    if (!r.ok()) fuzz::fail("round trip: read failed", r.error());
    if (*r == 0) break;
    if (got + *r > n) {
      std::fprintf(stderr, "round trip: more bytes than were written\n");
      std::abort();
    }
    std::memcpy(out.data() + got, buf.data(), *r);
    got += *r;
  }
  if (got != n || std::memcmp(out.data(), data + 1, n) != 0) {
    std::fprintf(stderr, "round trip: %zu bytes back of %zu, or different bytes (choice 0x%02x)\n", got, n, data[0]);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (lzo_init() != LZO_E_OK) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  read_as_lzop(data, size);
  round_trip(data, size);
  return 0;
}
