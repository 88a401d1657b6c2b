// libFuzzer target: the XBZRLE decoder, checked against a transcription of
// QEMU's xbzrle_decode_buffer() (migration/xbzrle.c, uleb128_decode_small()
// of util/cutils.c) written here independently, and an encode -> decode round
// trip. Input: byte 0 chooses the page size, byte 1 the previous content's
// pattern, the rest is the delta (and, for the round trip, two page images).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fuzz_common.h"
#include "ram/xbzrle.h"

namespace {

int ref_uleb128_decode_small(const std::uint8_t* in, std::uint32_t* n) {
  if (!(*in & 0x80)) {
    *n = *in;
    return 1;
  }
  *n = *in++ & 0x7f;
  if (*in & 0x80) return -1;  // more than 14 bits
  *n |= static_cast<std::uint32_t>(*in) << 7;
  return 2;
}

// QEMU's decoder: returns the decoded length or -1.
int ref_xbzrle_decode_buffer(const std::uint8_t* src, int slen, std::uint8_t* dst, int dlen) {
  int i = 0, d = 0;
  std::uint32_t count = 0;
  while (i < slen) {
    if ((slen - i) < 2) return -1;  // zrun
    int ret = ref_uleb128_decode_small(src + i, &count);
    if (ret < 0 || (i && !count)) return -1;
    i += ret;
    d += static_cast<int>(count);
    if (d > dlen) return -1;
    if ((slen - i) < 2) return -1;  // nzrun
    ret = ref_uleb128_decode_small(src + i, &count);
    if (ret < 0 || !count) return -1;
    i += ret;
    if (d + static_cast<int>(count) > dlen || i + static_cast<int>(count) > slen) return -1;
    std::memcpy(dst + d, src + i, count);
    d += static_cast<int>(count);
    i += static_cast<int>(count);
  }
  return d;
}

constexpr std::size_t kPageSizes[] = {4096, 16, 64, 512, 1024, 8192, 16384, 65536};

void fill_pattern(std::vector<std::uint8_t>& page, std::uint8_t seed) {
  for (std::size_t i = 0; i < page.size(); ++i) page[i] = static_cast<std::uint8_t>(seed * 31u + i * (seed | 1u));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace migscope;
  if (size < 2) return 0;
  const std::size_t page_size = kPageSizes[data[0] % (sizeof kPageSizes / sizeof kPageSizes[0])];
  const std::uint8_t seed = data[1];
  const std::uint8_t* delta = data + 2;
  const std::size_t delta_len = size - 2;

  // 1. Differential decode. QEMU sends at most a page of delta, but the
  // decoder must cope with any length.
  std::vector<std::uint8_t> mine(page_size), ref(page_size);
  fill_pattern(mine, seed);
  ref = mine;
  Status st = xbzrle_decode(Bytes{reinterpret_cast<const std::byte*>(delta), delta_len},
                            std::span<std::byte>(reinterpret_cast<std::byte*>(mine.data()), page_size), 0x1000);
  int r = ref_xbzrle_decode_buffer(delta, static_cast<int>(delta_len), ref.data(), static_cast<int>(page_size));
  if (st.ok() != (r >= 0)) {
    std::fprintf(stderr, "xbzrle differential: migscope %s, QEMU %s (%d)\n", st.ok() ? "accepts" : "rejects",
                 r >= 0 ? "accepts" : "rejects", r);
    if (!st.ok()) std::fprintf(stderr, "  migscope: %s\n", st.error().message().c_str());
    std::abort();
  }
  if (!st.ok()) {
    fuzz::check_error(st.error(), 0x1000 + delta_len, {ErrorCode::corrupt});
    if (st.error().offset < 0x1000) fuzz::fail("error offset before the delta", st.error());
  }
  // Accepted deltas must give the same page; a rejected one may leave the page
  // partly written, but must do it the same way QEMU does.
  if (mine != ref) {
    std::fprintf(stderr, "xbzrle differential: pages differ (%s)\n", st.ok() ? "accepted" : "rejected");
    std::abort();
  }

  // 2. Round trip: previous = pattern with the input XORed in, page = previous
  // with the input's bytes written at spread positions.
  std::vector<std::uint8_t> previous(page_size), page;
  fill_pattern(previous, static_cast<std::uint8_t>(seed ^ 0x5a));
  for (std::size_t i = 0; i < delta_len; ++i) previous[(i * 7) % page_size] ^= delta[i];
  page = previous;
  for (std::size_t i = 0; i + 1 < delta_len; i += 2) {
    std::size_t at = (static_cast<std::size_t>(delta[i]) * 131u + i * 17u) % page_size;
    std::size_t run = delta[i + 1] % 64u;
    for (std::size_t k = 0; k < run && at + k < page_size; ++k) page[at + k] = static_cast<std::uint8_t>(page[at + k] + 1 + k);
  }
  std::vector<std::byte> encoded(page_size + page_size / 64 + 16);
  const std::size_t max_len = (seed & 1) ? page_size : encoded.size();
  long n = xbzrle_encode(std::span<const std::byte>(reinterpret_cast<const std::byte*>(previous.data()), page_size),
                         std::span<const std::byte>(reinterpret_cast<const std::byte*>(page.data()), page_size), encoded,
                         max_len);
  if (n == 0) {
    if (page != previous) {
      std::fprintf(stderr, "xbzrle_encode: 0 for different pages\n");
      std::abort();
    }
    return 0;
  }
  if (n < 0) return 0;  // QEMU would send a normal page
  if (static_cast<std::size_t>(n) > max_len) {
    std::fprintf(stderr, "xbzrle_encode: %ld bytes, over max_len %zu\n", n, max_len);
    std::abort();
  }
  std::vector<std::uint8_t> decoded = previous;
  Status rt = xbzrle_decode(Bytes{encoded.data(), static_cast<std::size_t>(n)},
                            std::span<std::byte>(reinterpret_cast<std::byte*>(decoded.data()), page_size), 0);
  if (!rt.ok() || decoded != page) {
    std::fprintf(stderr, "xbzrle round trip failed: %s\n", rt.ok() ? "content differs" : rt.error().message().c_str());
    std::abort();
  }
  std::vector<std::uint8_t> qemu = previous;
  if (ref_xbzrle_decode_buffer(reinterpret_cast<const std::uint8_t*>(encoded.data()), static_cast<int>(n), qemu.data(),
                               static_cast<int>(page_size)) < 0 ||
      qemu != page) {
    std::fprintf(stderr, "xbzrle_encode output is not accepted by QEMU's decoder\n");
    std::abort();
  }
  return 0;
}
