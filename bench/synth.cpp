// migscope-synth: write a valid QEMU v3 migration stream of any size and page
// mix, and/or the raw RAM image it carries, fast (a multi-GiB stream is bound
// by the page-cache write path, not by generating it).
//
//   migscope-synth --size 4G -o s.mig [--raw ram.img] [--mix random=7,zero=3,repeat=1,sparse=1]
//                  [--xbzrle 0.05] [--zlib 0.01] [--mapped-ram] [--seed N]
//
// Stream layout (format.md §1, §10, §11): header, configuration ("pc-q35-7.2";
// "pc-q35-9.0" + capability mapped-ram with --mapped-ram), START "ram" with the
// MEM_SIZE block table (one block "pc.ram"), PART sections of 64 MiB of page
// records each (ZERO for zero pages, PAGE, or COMPRESS_PAGE for a --zlib
// fraction), a second pass re-sending an --xbzrle fraction of the non-zero pages
// as XBZRLE deltas, END, one FULL device section ("timer") described by the
// vmdesc trailer, EOF, the trailer. With --mapped-ram the pages sit at fixed
// offsets after a presence bitmap (zero pages are holes; the file is sparse) and
// every RAM section body is just EOS.
//
// Every page's content is a pure function of (seed, page number, version), so
// the raw image is generated independently of the stream and comparing the
// two (`migscope extract` + cmp, `migscope hash` vs `xxhsum -H2`) checks the
// parser, not the writer.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ram/xbzrle.h"
#include "wire/endian.h"

namespace {

constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t kPartPages = 16384;  // 64 MiB of pages per PART section
constexpr std::uint32_t kRamSectionId = 2;
constexpr std::uint32_t kTimerSectionId = 0;
constexpr std::string_view kBlock = "pc.ram";

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "migscope-synth: %s\n", msg.c_str());
  std::exit(1);
}

// ---- PRNG: splitmix64 for seeding and per-page decisions, xoshiro256+ for bulk bytes ----
std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Four independent xoshiro256+ lanes interleaved: the compiler keeps them in
// registers and the dependency chains overlap (~1 cycle per 8 bytes).
void fill_random(std::byte* out, std::size_t bytes, std::uint64_t seed) {
  std::uint64_t s[4][4];
  for (int l = 0; l < 4; ++l)
    for (int k = 0; k < 4; ++k) s[l][k] = splitmix64(seed + static_cast<std::uint64_t>(l * 4 + k) * 0x632be59bd9b4e019ull);
  for (std::size_t off = 0; off + 32 <= bytes; off += 32) {
    for (int l = 0; l < 4; ++l) {
      std::uint64_t* st = s[l];
      std::uint64_t r = st[0] + st[3];
      std::uint64_t t = st[1] << 17;
      st[2] ^= st[0];
      st[3] ^= st[1];
      st[1] ^= st[2];
      st[0] ^= st[3];
      st[2] ^= t;
      st[3] = (st[3] << 45) | (st[3] >> 19);
      std::memcpy(out + off + static_cast<std::size_t>(l) * 8, &r, 8);
    }
  }
}

// ---- page mix ----
enum class Kind : std::uint8_t { random, zero, repeat, sparse };

struct Config {
  std::uint64_t pages = 0;
  std::uint64_t seed = 20261123;
  unsigned weight[4] = {7, 3, 1, 1};  // random, zero, repeat, sparse
  double xbzrle = 0;                  // fraction of non-zero pages re-sent as XBZRLE
  double zlib = 0;                    // fraction of non-zero pages sent as COMPRESS_PAGE
  bool mapped_ram = false;
  std::string out, raw;
};

class Mix {
 public:
  explicit Mix(const Config& c) : c_(c) {
    for (unsigned w : c.weight) total_ += w;
    repeated_.resize(kPage);
    fill_random(repeated_.data(), kPage, splitmix64(c.seed ^ 0x5245504541544544ull));
  }
  Kind kind(std::uint64_t page) const {
    std::uint64_t r = splitmix64(c_.seed ^ (page * 0x9e3779b97f4a7c15ull)) % total_;
    for (int k = 0; k < 4; ++k) {
      if (r < c_.weight[k]) return static_cast<Kind>(k);
      r -= c_.weight[k];
    }
    return Kind::random;
  }
  bool chance(std::uint64_t page, std::uint64_t salt, double p) const {
    if (p <= 0) return false;
    std::uint64_t r = splitmix64(c_.seed ^ salt ^ (page * 0xd1342543de82ef95ull));
    return static_cast<double>(r >> 11) * 0x1.0p-53 < p;
  }
  bool dirtied(std::uint64_t page, Kind k) const { return k != Kind::zero && chance(page, 0x58425a524c45ull, c_.xbzrle); }
  bool zlibbed(std::uint64_t page, Kind k) const { return k != Kind::zero && chance(page, 0x5a4c4942ull, c_.zlib); }

  /// Version 0 of the page.
  void fill(std::uint64_t page, Kind k, std::byte* out) const {
    switch (k) {
      case Kind::random:
        fill_random(out, kPage, c_.seed ^ (page * 0xa0761d6478bd642full));
        break;
      case Kind::zero:
        std::memset(out, 0, kPage);
        break;
      case Kind::repeat:
        std::memcpy(out, repeated_.data(), kPage);
        break;
      case Kind::sparse:  // mostly zero: one non-zero byte every 512
        std::memset(out, 0, kPage);
        for (std::uint64_t i = 0; i < kPage; i += 512) out[i] = static_cast<std::byte>(((page + i) & 0xff) | 1);
        break;
    }
  }
  /// Version 1 (second pass): four 32-byte runs changed.
  void dirty(std::uint64_t page, std::byte* content) const {
    std::uint64_t h = splitmix64(c_.seed ^ 0x44495254ull ^ page);
    for (int run = 0; run < 4; ++run) {
      std::size_t at = static_cast<std::size_t>(run) * 1024 + static_cast<std::size_t>((h >> (run * 8)) & 0xff) * 3;
      for (std::size_t i = 0; i < 32; ++i)
        content[at + i] = static_cast<std::byte>(static_cast<std::uint8_t>(content[at + i]) ^ 0xa5 ^ static_cast<std::uint8_t>(i));
    }
  }
  /// Final content (what a destination holds after the whole stream).
  void final_content(std::uint64_t page, std::byte* out) const {
    Kind k = kind(page);
    fill(page, k, out);
    if (dirtied(page, k)) dirty(page, out);
  }

 private:
  const Config& c_;
  unsigned total_ = 0;
  std::vector<std::byte> repeated_;
};

// ---- buffered output with absolute positions (for mapped-ram's sparse layout) ----
class Writer {
 public:
  Writer(const std::string& path, std::size_t cap) : path_(path), buf_(cap) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);  // O_TRUNC: holes stay holes
    if (fd_ < 0) die("cannot create " + path + ": " + std::strerror(errno));
  }
  ~Writer() {
    if (fd_ >= 0) ::close(fd_);
  }
  std::uint64_t pos() const { return base_ + used_; }
  std::byte* reserve(std::size_t n) {
    if (buf_.size() - used_ < n) flush();
    std::byte* p = buf_.data() + used_;
    used_ += n;
    return p;
  }
  void u8(std::uint8_t v) { *reserve(1) = std::byte{v}; }
  void be16(std::uint16_t v) { migscope::store_be16(reserve(2), v); }
  void be32(std::uint32_t v) { migscope::store_be32(reserve(4), v); }
  void be64(std::uint64_t v) { migscope::store_be64(reserve(8), v); }
  void raw(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::byte*>(p);
    while (n > 0) {
      if (used_ == buf_.size()) flush();
      std::size_t k = std::min(n, buf_.size() - used_);
      std::memcpy(buf_.data() + used_, b, k);
      used_ += k;
      b += k;
      n -= k;
    }
  }
  void raw(std::string_view s) { raw(s.data(), s.size()); }
  void counted(std::string_view s) {
    u8(static_cast<std::uint8_t>(s.size()));
    raw(s);
  }
  /// Continue at absolute offset `at` (>= pos()); the gap stays a hole.
  void jump(std::uint64_t at) {
    flush();
    base_ = at;
  }
  void flush() {
    std::size_t done = 0;
    while (done < used_) {
      ssize_t w = ::pwrite(fd_, buf_.data() + done, used_ - done, static_cast<off_t>(base_ + done));
      if (w < 0) {
        if (errno == EINTR) continue;
        die("cannot write " + path_ + ": " + std::strerror(errno));
      }
      done += static_cast<std::size_t>(w);
    }
    base_ += used_;
    used_ = 0;
  }
  void finish(std::uint64_t size) {
    flush();
    struct stat st {};
    if (::fstat(fd_, &st) == 0 && !S_ISREG(st.st_mode)) return;  // e.g. /dev/null, to time generation alone
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) die("cannot size " + path_ + ": " + std::strerror(errno));
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<std::byte> buf_;
  std::size_t used_ = 0;
  std::uint64_t base_ = 0;
};

std::string vmdesc_json() {
  return R"({"page_size": 4096, "devices": [{"name": "timer", "instance_id": 0, "vmsd_name": "timer", "version": 2, )"
         R"("fields": [{"name": "cpu_ticks_offset", "type": "int64", "size": 8}, {"name": "dummy", "type": "int64", "size": 8}, )"
         R"({"name": "cpu_clock_offset", "type": "int64", "size": 8}]}]})";
}

struct Counts {
  std::uint64_t zero = 0, page = 0, compressed = 0, xbzrle = 0, xbzrle_as_page = 0, mapped = 0;
};

void section_start(Writer& w, std::uint8_t type, std::uint32_t id, std::string_view name, std::uint32_t instance,
                   std::uint32_t version) {
  w.u8(type);
  w.be32(id);
  w.counted(name);
  w.be32(instance);
  w.be32(version);
}

std::uint64_t write_stream(const Config& c, const Mix& mix, Counts& n) {
  Writer w(c.out, 8u << 20);
  const std::uint64_t length = c.pages * kPage;
  w.be32(0x5145564d);
  w.be32(3);
  // Configuration (format.md §4): machine name, and the capability that changes the RAM format.
  std::string_view machine = c.mapped_ram ? "pc-q35-9.0" : "pc-q35-7.2";
  w.u8(0x07);
  w.be32(static_cast<std::uint32_t>(machine.size()));
  w.raw(machine);
  if (c.mapped_ram) {
    w.u8(0x05);
    w.counted("configuration/capabilities");
    w.be32(1);
    w.be32(1);
    w.counted("mapped-ram");
  }
  // START "ram": MEM_SIZE block table, EOS, footer.
  section_start(w, 0x01, kRamSectionId, "ram", 0, 4);
  w.be64(length | 0x04);
  w.counted(kBlock);
  w.be64(length);
  if (c.mapped_ram) {
    // MappedRamHeader (§11.1); the bitmap follows it, pages start at the next MiB.
    const std::uint64_t bitmap_offset = w.pos() + 28;
    const std::uint64_t bitmap_bytes = (c.pages + 63) / 64 * 8;
    const std::uint64_t pages_offset = (bitmap_offset + bitmap_bytes + 0xfffff) & ~std::uint64_t{0xfffff};
    w.be32(1);
    w.be64(kPage);
    w.be64(bitmap_offset);
    w.be64(pages_offset);
    std::vector<std::uint8_t> bitmap(static_cast<std::size_t>(bitmap_bytes), 0);
    for (std::uint64_t p = 0; p < c.pages; ++p)
      if (mix.kind(p) != Kind::zero) bitmap[p / 8] |= static_cast<std::uint8_t>(1u << (p % 8));
    w.raw(bitmap.data(), bitmap.size());
    // Page region: runs of present pages, zero pages left as holes.
    std::uint64_t p = 0;
    while (p < c.pages) {
      if (mix.kind(p) == Kind::zero) {
        ++n.zero;
        ++p;
        continue;
      }
      w.jump(pages_offset + p * kPage);
      for (; p < c.pages; ++p) {
        Kind k = mix.kind(p);
        if (k == Kind::zero) break;
        mix.final_content(p, w.reserve(kPage));
        ++n.mapped;
      }
    }
    w.jump(pages_offset + length);
  }
  w.be64(0x10);
  w.u8(0x7e);
  w.be32(kRamSectionId);

  std::vector<std::byte> scratch(kPage), zbuf(compressBound(kPage)), prev(kPage), delta(kPage + kPage / 64 + 16);
  if (!c.mapped_ram) {
    // Pass 1: every page once.
    for (std::uint64_t first = 0; first < c.pages; first += kPartPages) {
      w.u8(0x02);
      w.be32(kRamSectionId);
      const std::uint64_t last = std::min(c.pages, first + kPartPages);
      bool named = false;
      for (std::uint64_t p = first; p < last; ++p) {
        Kind k = mix.kind(p);
        const std::uint64_t addr = p * kPage;
        if (k == Kind::zero) {
          w.be64(addr | 0x02 | (named ? 0x20 : 0));
          if (!named) w.counted(kBlock);
          w.u8(0);
          ++n.zero;
        } else if (mix.zlibbed(p, k)) {
          mix.fill(p, k, scratch.data());
          uLongf zlen = static_cast<uLongf>(zbuf.size());
          if (compress2(reinterpret_cast<Bytef*>(zbuf.data()), &zlen, reinterpret_cast<const Bytef*>(scratch.data()), kPage, 1) !=
              Z_OK)
            die("zlib compress2 failed");
          w.be64(addr | 0x100 | (named ? 0x20 : 0));
          if (!named) w.counted(kBlock);
          w.be32(static_cast<std::uint32_t>(zlen));
          w.raw(zbuf.data(), zlen);
          ++n.compressed;
        } else {
          w.be64(addr | 0x08 | (named ? 0x20 : 0));
          if (!named) w.counted(kBlock);
          mix.fill(p, k, w.reserve(kPage));
          ++n.page;
        }
        named = true;
      }
      w.be64(0x10);
      w.u8(0x7e);
      w.be32(kRamSectionId);
    }
    // Pass 2: dirtied pages as XBZRLE deltas against version 0.
    if (c.xbzrle > 0) {
      std::uint64_t in_part = 0;
      bool open = false, named = false;
      for (std::uint64_t p = 0; p < c.pages; ++p) {
        Kind k = mix.kind(p);
        if (!mix.dirtied(p, k)) continue;
        if (!open) {
          w.u8(0x02);
          w.be32(kRamSectionId);
          open = true;
          named = false;
          in_part = 0;
        }
        mix.fill(p, k, prev.data());
        std::memcpy(scratch.data(), prev.data(), kPage);
        mix.dirty(p, scratch.data());
        long dl = migscope::xbzrle_encode(prev, scratch, delta, kPage);
        const std::uint64_t addr = p * kPage;
        if (dl > 0) {
          w.be64(addr | 0x40 | (named ? 0x20 : 0));
          if (!named) w.counted(kBlock);
          w.u8(0x01);
          w.be16(static_cast<std::uint16_t>(dl));
          w.raw(delta.data(), static_cast<std::size_t>(dl));
          ++n.xbzrle;
        } else {  // delta too large (or empty): a normal page, as QEMU does
          w.be64(addr | 0x08 | (named ? 0x20 : 0));
          if (!named) w.counted(kBlock);
          w.raw(scratch.data(), kPage);
          ++n.xbzrle_as_page;
        }
        named = true;
        if (++in_part == kPartPages) {
          w.be64(0x10);
          w.u8(0x7e);
          w.be32(kRamSectionId);
          open = false;
        }
      }
      if (open) {
        w.be64(0x10);
        w.u8(0x7e);
        w.be32(kRamSectionId);
      }
    }
  }
  // END "ram": nothing left to send.
  w.u8(0x03);
  w.be32(kRamSectionId);
  w.be64(0x10);
  w.u8(0x7e);
  w.be32(kRamSectionId);
  // One device, described by the vmdesc: "timer" v2, three int64.
  section_start(w, 0x04, kTimerSectionId, "timer", 0, 2);
  w.be64(0x0000000012345678ull);
  w.be64(0);
  w.be64(0xfffffffffffff000ull);  // negative: rendered with its decimal too
  w.u8(0x7e);
  w.be32(kTimerSectionId);
  w.u8(0x00);  // EOF
  std::string json = vmdesc_json();
  w.u8(0x06);
  w.be32(static_cast<std::uint32_t>(json.size()));
  w.raw(json);
  const std::uint64_t size = w.pos();
  w.finish(size);
  return size;
}

void write_raw(const Config& c, const Mix& mix) {
  Writer w(c.raw, 8u << 20);
  std::uint64_t p = 0;
  while (p < c.pages) {
    if (mix.kind(p) == Kind::zero) {
      ++p;
      continue;
    }
    w.jump(p * kPage);
    for (; p < c.pages && mix.kind(p) != Kind::zero; ++p) mix.final_content(p, w.reserve(kPage));
  }
  w.jump(c.pages * kPage);
  w.finish(c.pages * kPage);
}

std::uint64_t parse_size(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  std::string suffix = end ? end : "";
  double mul = 1;
  if (suffix == "K" || suffix == "k" || suffix == "KiB") mul = 1024.0;
  else if (suffix == "M" || suffix == "m" || suffix == "MiB") mul = 1024.0 * 1024;
  else if (suffix == "G" || suffix == "g" || suffix == "GiB") mul = 1024.0 * 1024 * 1024;
  else if (!suffix.empty()) die("bad size '" + s + "' (use e.g. 512M, 4G)");
  if (!(v > 0)) die("bad size '" + s + "'");
  return static_cast<std::uint64_t>(v * mul);
}

void parse_mix(const std::string& s, Config& c) {
  static constexpr std::string_view names[4] = {"random", "zero", "repeat", "sparse"};
  for (unsigned& w : c.weight) w = 0;
  std::size_t at = 0;
  while (at < s.size()) {
    std::size_t comma = s.find(',', at);
    std::string item = s.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    std::size_t eq = item.find('=');
    if (eq == std::string::npos) die("bad --mix item '" + item + "' (want NAME=WEIGHT)");
    std::string name = item.substr(0, eq);
    int k = -1;
    for (int i = 0; i < 4; ++i)
      if (name == names[i]) k = i;
    if (k < 0) die("unknown page kind '" + name + "' (random, zero, repeat, sparse)");
    c.weight[k] = static_cast<unsigned>(std::strtoul(item.c_str() + eq + 1, nullptr, 10));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  if (c.weight[0] + c.weight[1] + c.weight[2] + c.weight[3] == 0) die("--mix: all weights are 0");
}

void usage() {
  std::printf(
      "usage: migscope-synth --size SIZE [-o STREAM] [--raw IMAGE] [options]\n\n"
      "Write a valid QEMU v3 migration stream with one RAM block \"pc.ram\" of SIZE bytes\n"
      "(rounded down to 4 KiB pages), and/or the raw RAM image it carries (sparse).\n\n"
      "options\n"
      "  --size SIZE        RAM size: 512M, 4G, 16G, ...\n"
      "  -o, --output FILE  the stream\n"
      "  --raw FILE         the equivalent raw RAM image (final content of every page)\n"
      "  --mix SPEC         page kind weights (default random=7,zero=3,repeat=1,sparse=1)\n"
      "  --xbzrle FRAC      fraction of non-zero pages re-sent in a 2nd pass as XBZRLE deltas (default 0)\n"
      "  --zlib FRAC        fraction of non-zero pages sent as zlib COMPRESS_PAGE records (default 0)\n"
      "  --mapped-ram       mapped-ram layout (format.md §11): bitmap + pages at fixed offsets\n"
      "  --seed N           PRNG seed (default 20261123)\n");
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  std::uint64_t size = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die("option " + a + " needs a value");
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else if (a == "--size") size = parse_size(value());
    else if (a == "-o" || a == "--output") c.out = value();
    else if (a == "--raw") c.raw = value();
    else if (a == "--mix") parse_mix(value(), c);
    else if (a == "--xbzrle") c.xbzrle = std::strtod(value().c_str(), nullptr);
    else if (a == "--zlib") c.zlib = std::strtod(value().c_str(), nullptr);
    else if (a == "--mapped-ram") c.mapped_ram = true;
    else if (a == "--seed") c.seed = std::strtoull(value().c_str(), nullptr, 0);
    else die("unknown option '" + a + "' (--help)");
  }
  c.pages = size / kPage;
  if (c.pages == 0) die("--size is required (at least 4K)");
  if (c.out.empty() && c.raw.empty()) die("nothing to write: give -o STREAM and/or --raw IMAGE");
  if (c.mapped_ram && (c.xbzrle > 0 || c.zlib > 0)) die("--mapped-ram carries no page records: no --xbzrle or --zlib");
  Mix mix(c);
  auto t0 = std::chrono::steady_clock::now();
  Counts n;
  std::uint64_t stream_bytes = 0;
  if (!c.out.empty()) stream_bytes = write_stream(c, mix, n);
  auto t1 = std::chrono::steady_clock::now();
  if (!c.raw.empty()) write_raw(c, mix);
  auto t2 = std::chrono::steady_clock::now();
  auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  if (!c.out.empty()) {
    std::fprintf(stderr,
                 "migscope-synth: %s: %llu bytes in %.2f s (%.2f GB/s); pages: %llu zero, %llu page, %llu zlib, %llu "
                 "xbzrle (+%llu re-sent whole), %llu mapped\n",
                 c.out.c_str(), static_cast<unsigned long long>(stream_bytes), secs(t0, t1),
                 static_cast<double>(stream_bytes) / secs(t0, t1) / 1e9, static_cast<unsigned long long>(n.zero),
                 static_cast<unsigned long long>(n.page), static_cast<unsigned long long>(n.compressed),
                 static_cast<unsigned long long>(n.xbzrle), static_cast<unsigned long long>(n.xbzrle_as_page),
                 static_cast<unsigned long long>(n.mapped));
  }
  if (!c.raw.empty())
    std::fprintf(stderr, "migscope-synth: %s: %llu bytes in %.2f s\n", c.raw.c_str(),
                 static_cast<unsigned long long>(c.pages * kPage), secs(t1, t2));
  return 0;
}
