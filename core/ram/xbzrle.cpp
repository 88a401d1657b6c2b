#include "ram/xbzrle.h"

#include <cstring>
#include <string>

namespace migscope {

namespace {

// util/cutils.c uleb128_decode_small: 1 byte < 0x80, else 2 bytes, the second without bit 7.
int uleb_small(const std::byte* in, std::uint32_t* n) {
  auto b0 = static_cast<std::uint8_t>(in[0]);
  if (!(b0 & 0x80)) {
    *n = b0;
    return 1;
  }
  auto b1 = static_cast<std::uint8_t>(in[1]);
  if (b1 & 0x80) return -1;
  *n = (b0 & 0x7fu) | (static_cast<std::uint32_t>(b1) << 7);
  return 2;
}

int uleb_small_encode(std::uint32_t n, std::byte* out) {
  if (n < 0x80) {
    out[0] = static_cast<std::byte>(n);
    return 1;
  }
  out[0] = static_cast<std::byte>((n & 0x7f) | 0x80);
  out[1] = static_cast<std::byte>(n >> 7);
  return 2;
}

}  // namespace

Status xbzrle_decode(Bytes delta, std::span<std::byte> page, std::uint64_t offset) {
  const std::byte* src = delta.data();
  const std::size_t slen = delta.size();
  const std::size_t dlen = page.size();
  std::size_t i = 0, d = 0;
  auto fail = [&](const char* what) {
    return make_error(ErrorCode::corrupt, offset + i, std::string("XBZRLE delta: ") + what);
  };
  while (i < slen) {
    std::uint32_t count = 0;
    // QEMU insists on two bytes being left before each run length.
    if (slen - i < 2) return fail("a zero-run length needs 2 bytes left");
    int r = uleb_small(src + i, &count);
    if (r < 0) return fail("invalid run length encoding");
    if (i != 0 && count == 0) return fail("empty zero run after the first");
    i += static_cast<std::size_t>(r);
    d += count;
    if (d > dlen) return fail("zero run past the end of the page");
    if (slen - i < 2) return fail("a data-run length needs 2 bytes left");
    r = uleb_small(src + i, &count);
    if (r < 0) return fail("invalid run length encoding");
    if (count == 0) return fail("empty data run");
    i += static_cast<std::size_t>(r);
    if (d + count > dlen) return fail("data run past the end of the page");
    if (i + count > slen) return fail("data run past the end of the delta");
    std::memcpy(page.data() + d, src + i, count);
    d += count;
    i += count;
  }
  return {};
}

long xbzrle_encode(std::span<const std::byte> previous, std::span<const std::byte> page, std::span<std::byte> out,
                   std::size_t max_len) {
  const std::size_t n = page.size();
  std::size_t i = 0, d = 0;
  bool any = false;
  while (i < n) {
    std::size_t zrun = 0;
    while (i < n && page[i] == previous[i]) ++i, ++zrun;
    if (i == n) break;  // the final zero run is omitted
    std::size_t start = i;
    while (i < n && page[i] != previous[i]) ++i;
    std::size_t nzrun = i - start;
    if (zrun > 0x3fff || nzrun > 0x3fff) return -1;
    if (d + 4 + nzrun > max_len || d + 4 + nzrun > out.size()) return -1;
    d += static_cast<std::size_t>(uleb_small_encode(static_cast<std::uint32_t>(zrun), out.data() + d));
    d += static_cast<std::size_t>(uleb_small_encode(static_cast<std::uint32_t>(nzrun), out.data() + d));
    std::memcpy(out.data() + d, page.data() + start, nzrun);
    d += nzrun;
    any = true;
  }
  return any ? static_cast<long>(d) : 0;
}

}  // namespace migscope
