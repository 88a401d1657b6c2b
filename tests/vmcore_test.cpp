// ops::vmcore against real QEMU: every corpus stream QEMU 7.2 loaded and
// dumped with dump-guest-memory (corpus/vmcore/oracle/NAME.json, made by
// corpus/vmcore/make-vmcore-oracle.sh) must give the same ELF identity, the
// same PT_LOAD ranges with the same bytes (sha256), and the same notes byte
// for byte. The flat image must hold the same bytes at each paddr.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <rapidjson/document.h>

#include "migscope/ops.h"
#include "migscope/stream.h"
#include "test_paths.h"

namespace fs = std::filesystem;
using namespace migscope;

namespace {

// SHA-256 (FIPS 180-4), for comparing with the oracle's digests.
class Sha256 {
 public:
  void update(const unsigned char* p, std::size_t n) {
    total_ += n;
    while (n > 0) {
      const std::size_t take = std::min(n, 64 - fill_);
      std::memcpy(buf_ + fill_, p, take);
      fill_ += take;
      p += take;
      n -= take;
      if (fill_ == 64) {
        block(buf_);
        fill_ = 0;
      }
    }
  }
  void zeros(std::uint64_t n) {
    static const unsigned char z[4096] = {};
    while (n > 0) {
      const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(n, sizeof z));
      update(z, take);
      n -= take;
    }
  }
  std::string hex() {
    const std::uint64_t bits = total_ * 8;
    const unsigned char pad = 0x80;
    update(&pad, 1);
    const unsigned char zero = 0;
    while (fill_ != 56) update(&zero, 1);
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(bits >> (56 - 8 * i));
    update(len, 8);
    std::string out;
    char b[9];
    for (std::uint32_t v : h_) {
      std::snprintf(b, sizeof b, "%08x", v);
      out += b;
    }
    return out;
  }

 private:
  static std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
  void block(const unsigned char* p) {
    static const std::uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
        0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
        0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
        0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
        0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
        0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};
    std::uint32_t w[64];
    for (int i = 0; i < 16; ++i)
      w[i] = std::uint32_t{p[4 * i]} << 24 | std::uint32_t{p[4 * i + 1]} << 16 | std::uint32_t{p[4 * i + 2]} << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; ++i) {
      const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6], h = h_[7];
    for (int i = 0; i < 64; ++i) {
      const std::uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      const std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h_[0] += a; h_[1] += b; h_[2] += c; h_[3] += d; h_[4] += e; h_[5] += f; h_[6] += g; h_[7] += h;
  }
  std::uint32_t h_[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  unsigned char buf_[64];
  std::size_t fill_ = 0;
  std::uint64_t total_ = 0;
};

std::string sha256_of_file_range(int fd, std::uint64_t offset, std::uint64_t length) {
  Sha256 s;
  std::vector<unsigned char> buf(1 << 20);
  struct stat st{};
  ::fstat(fd, &st);
  while (length > 0) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), length));
    if (offset >= static_cast<std::uint64_t>(st.st_size)) {
      s.zeros(length);
      break;
    }
    // Skip holes without reading them.
    const off_t data = ::lseek(fd, static_cast<off_t>(offset), SEEK_DATA);
    if (data < 0 || static_cast<std::uint64_t>(data) >= offset + length) {
      s.zeros(length);
      break;
    }
    if (static_cast<std::uint64_t>(data) > offset) {
      const std::uint64_t gap = static_cast<std::uint64_t>(data) - offset;
      s.zeros(gap);
      offset += gap;
      length -= gap;
      continue;
    }
    const ssize_t r = ::pread(fd, buf.data(), n, static_cast<off_t>(offset));
    if (r <= 0) {
      s.zeros(length);
      break;
    }
    s.update(buf.data(), static_cast<std::size_t>(r));
    offset += static_cast<std::uint64_t>(r);
    length -= static_cast<std::uint64_t>(r);
  }
  return s.hex();
}

struct ParsedElf {
  bool class64 = false, big = false;
  unsigned machine = 0;
  struct Load { std::uint64_t paddr, memsz, offset; };
  std::vector<Load> loads;
  struct Note { std::string name; unsigned type; std::string desc_hex; };
  std::vector<Note> notes;
};

std::uint64_t get(const std::vector<unsigned char>& d, std::size_t at, unsigned n, bool big) {
  std::uint64_t v = 0;
  for (unsigned i = 0; i < n; ++i) {
    const unsigned char b = d.at(at + i);
    v |= std::uint64_t{b} << (big ? 8 * (n - 1 - i) : 8 * i);
  }
  return v;
}

ParsedElf parse_elf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> d(4 << 20);
  in.read(reinterpret_cast<char*>(d.data()), static_cast<std::streamsize>(d.size()));
  d.resize(static_cast<std::size_t>(in.gcount()));
  ParsedElf e;
  EXPECT_GE(d.size(), 64u);
  EXPECT_EQ(0, std::memcmp(d.data(), "\x7f" "ELF", 4));
  e.class64 = d[4] == 2;
  e.big = d[5] == 2;
  e.machine = static_cast<unsigned>(get(d, 18, 2, e.big));
  const std::uint64_t phoff = e.class64 ? get(d, 32, 8, e.big) : get(d, 28, 4, e.big);
  const unsigned phentsize = static_cast<unsigned>(get(d, e.class64 ? 54 : 42, 2, e.big));
  const unsigned phnum = static_cast<unsigned>(get(d, e.class64 ? 56 : 44, 2, e.big));
  for (unsigned i = 0; i < phnum; ++i) {
    const std::size_t b = static_cast<std::size_t>(phoff) + i * phentsize;
    const auto type = get(d, b, 4, e.big);
    std::uint64_t off, paddr, filesz;
    if (e.class64) {
      off = get(d, b + 8, 8, e.big);
      paddr = get(d, b + 24, 8, e.big);
      filesz = get(d, b + 32, 8, e.big);
    } else {
      off = get(d, b + 4, 4, e.big);
      paddr = get(d, b + 12, 4, e.big);
      filesz = get(d, b + 16, 4, e.big);
    }
    if (type == 1) e.loads.push_back({paddr, filesz, off});
    if (type == 4) {
      for (std::size_t p = off; p < off + filesz;) {
        const auto nz = get(d, p, 4, e.big), ds = get(d, p + 4, 4, e.big), ty = get(d, p + 8, 4, e.big);
        ParsedElf::Note n;
        n.name.assign(reinterpret_cast<const char*>(&d.at(p + 12)), nz ? nz - 1 : 0);
        n.type = static_cast<unsigned>(ty);
        const std::size_t q = p + 12 + ((nz + 3) & ~3ull);
        char hx[3];
        for (std::size_t k = 0; k < ds; ++k) {
          std::snprintf(hx, sizeof hx, "%02x", d.at(q + k));
          n.desc_hex += hx;
        }
        e.notes.push_back(std::move(n));
        p = q + ((ds + 3) & ~3ull);
      }
    }
  }
  return e;
}

std::uint64_t hexnum(const rapidjson::Value& v) { return std::stoull(v.GetString(), nullptr, 16); }

// Sanitizer builds hash ~10x slower: there, guests of GiBs are left to the release run.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::uint64_t kMaxGuestBytes = 512u << 20;
#else
constexpr std::uint64_t kMaxGuestBytes = ~std::uint64_t{0};
#endif

std::uint64_t guest_bytes(const rapidjson::Document& oracle) {
  std::uint64_t n = 0;
  for (const auto& l : oracle["loads"].GetArray()) n += hexnum(l["memsz"]);
  return n;
}

std::string stream_path(const std::string& name) {
  for (const char* dir : {"corpus/streams/", "corpus/vmcore/"}) {
    const std::string p = test::binary_dir() + "/" + dir + name + ".mig";
    if (fs::exists(p)) return p;
  }
  return {};
}

// Streams whose oracle comparison is not complete yet, and why (README "vmcore").
struct Known {
  const char* name;
  bool loads_differ;  // the ranges differ too (the device state is not decoded)
  const char* why;
};
constexpr Known kKnownGaps[] = {
    {"x86_64-pc-i440fx-2.0", false, "no description (pc-i440fx-2.0 suppresses it): CPU notes need one"},
};

const Known* known_gap(const std::string& name) {
  for (const Known& k : kKnownGaps)
    if (name == k.name) return &k;
  return nullptr;
}

class VmcoreOracle : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = fs::temp_directory_path() / ("migscope-vmcore-test-" + std::to_string(::getpid()));
    fs::create_directories(tmp_);
  }
  void TearDown() override { fs::remove_all(tmp_); }
  fs::path tmp_;
};

void compare_with_oracle(const std::string& name, const std::string& stream, const std::string& vmdesc,
                         const fs::path& tmp, const rapidjson::Document& oracle) {
  SCOPED_TRACE(name);
  auto dump = Dump::open(stream, OpenOptions{vmdesc, ""});
  ASSERT_TRUE(dump.ok()) << dump.error().message();
  ops::VmcoreOptions options;
  options.output = (tmp / (name + ".core")).string();
  options.threads = 2;
  auto report = ops::vmcore(*dump, options);
  ASSERT_TRUE(report.ok()) << report.error().message();
  const ParsedElf elf = parse_elf(options.output);
  const Known* gap = known_gap(name);
  const auto& id = oracle["elf"];
  EXPECT_EQ(elf.class64 ? 64 : 32, id["class"].GetInt());
  EXPECT_EQ(elf.big, std::string(id["data"].GetString()) == "msb");
  EXPECT_EQ(elf.machine, static_cast<unsigned>(id["machine"].GetInt()));
  const auto& loads = oracle["loads"];
  if (!gap || !gap->loads_differ) {
    ASSERT_EQ(elf.loads.size(), loads.Size());
    const int fd = ::open(options.output.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    for (rapidjson::SizeType i = 0; i < loads.Size(); ++i) {
      SCOPED_TRACE("PT_LOAD " + std::to_string(i));
      EXPECT_EQ(elf.loads[i].paddr, hexnum(loads[i]["paddr"]));
      EXPECT_EQ(elf.loads[i].memsz, hexnum(loads[i]["memsz"]));
      EXPECT_EQ(sha256_of_file_range(fd, elf.loads[i].offset, elf.loads[i].memsz), loads[i]["sha256"].GetString());
    }
    ::close(fd);
  }
  if (gap) return;  // notes: see kKnownGaps
  const auto& notes = oracle["notes"];
  ASSERT_EQ(elf.notes.size(), notes.Size());
  for (rapidjson::SizeType i = 0; i < notes.Size(); ++i) {
    SCOPED_TRACE("note " + std::to_string(i));
    EXPECT_EQ(elf.notes[i].name, notes[i]["name"].GetString());
    EXPECT_EQ(elf.notes[i].type, static_cast<unsigned>(notes[i]["type"].GetInt()));
    EXPECT_EQ(elf.notes[i].desc_hex, notes[i]["desc"].GetString());
  }
}

rapidjson::Document load_oracle(const std::string& path) {
  rapidjson::Document doc;
  const std::string text = test::read_file(path);
  doc.Parse(text.c_str(), text.size());
  EXPECT_FALSE(doc.HasParseError()) << path;
  return doc;
}

}  // namespace

std::vector<std::string> oracle_names() {
  std::vector<std::string> names;
  const fs::path dir = fs::path(test::corpus_dir()) / "vmcore" / "oracle";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

// One test per oracle dump (each within the per-test time limit).
class VmcoreMatchesQemu : public VmcoreOracle, public ::testing::WithParamInterface<std::string> {};

TEST_P(VmcoreMatchesQemu, SameRangesBytesAndNotes) {
  const std::string name = GetParam();
  const std::string stream = stream_path(name);
  ASSERT_FALSE(stream.empty()) << "no stream for oracle " << name;
  const rapidjson::Document oracle = load_oracle(test::corpus_dir() + "/vmcore/oracle/" + name + ".json");
  if (guest_bytes(oracle) > kMaxGuestBytes) GTEST_SKIP() << "a guest of GiBs: left to the release run";
  // A stream QEMU could dump without a description trailer gets the one of
  // its machine's sibling stream (the same QEMU and devices); postcopy
  // sends none: its running guest's sibling is the xbzrle stream.
  std::string sibling;
  if (name == "x86_64-q35-7.2-no-vmdesc") sibling = "x86_64-q35-7.2";
  if (name == "x86_64-q35-7.2-postcopy") sibling = "x86_64-q35-7.2-xbzrle";
  std::string vmdesc;
  if (!sibling.empty()) {
    vmdesc = (tmp_ / "sibling.desc.json").string();
    auto dump = Dump::open(stream_path(sibling));
    ASSERT_TRUE(dump.ok());
    std::FILE* f = std::fopen(vmdesc.c_str(), "w");
    ASSERT_TRUE(f);
    ASSERT_TRUE(ops::desc(*dump, ops::TextOutput::to_file(f)).ok());
    std::fclose(f);
  }
  compare_with_oracle(name, stream, vmdesc, tmp_, oracle);
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = info.param;
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(CorpusDumps, VmcoreMatchesQemu, ::testing::ValuesIn(oracle_names()), test_name);

TEST_F(VmcoreOracle, EveryOracleHasItsTest) {
  // The list above is read from the directory: it must hold every dump made.
  EXPECT_GE(oracle_names().size(), 28u);
}

void check_raw(const std::string& name, const fs::path& tmp_, std::uint64_t below_4g) {
  SCOPED_TRACE(name);
  const rapidjson::Document oracle = load_oracle(test::corpus_dir() + "/vmcore/oracle/" + name + ".json");
  if (guest_bytes(oracle) > kMaxGuestBytes) GTEST_SKIP() << "a guest of GiBs: left to the release run";
  auto dump = Dump::open(stream_path(name));
  ASSERT_TRUE(dump.ok());
  ops::VmcoreOptions options;
  options.output = (tmp_ / "guest.raw").string();
  options.format = ops::VmcoreFormat::raw;
  auto report = ops::vmcore(*dump, options);
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_EQ(report->layout.below_4g, below_4g);
  EXPECT_EQ(report->layout.split_source, "RTC CMOS");
  const int fd = ::open(options.output.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  const auto& loads = oracle["loads"];
  std::uint64_t end = 0;
  for (rapidjson::SizeType i = 0; i < loads.Size(); ++i) {
    const std::uint64_t paddr = hexnum(loads[i]["paddr"]), len = hexnum(loads[i]["memsz"]);
    EXPECT_EQ(sha256_of_file_range(fd, paddr, len), loads[i]["sha256"].GetString()) << "range at " << paddr;
    end = std::max(end, paddr + len);
  }
  struct stat st{};
  ::fstat(fd, &st);
  EXPECT_EQ(static_cast<std::uint64_t>(st.st_size), end);
  EXPECT_LT(static_cast<std::uint64_t>(st.st_blocks) * 512, 256u << 20) << "zero pages must stay holes";
  ::close(fd);
  fs::remove(options.output);
}

TEST_F(VmcoreOracle, RawImageHoldsEachRangeAtItsAddress) {
  // A booted pc guest with a VGA: the VGA window a hole, vram at its BAR, the BIOS below 4 GiB.
  check_raw("x86_64-pc-7.2-vga", tmp_, 0x4000000);
  // A paused guest: the last 128 KiB of the BIOS shown at 0xe0000 and below 4 GiB (copied).
  check_raw("x86_64-q35-7.2", tmp_, 0x1000000);
  // The PCI-hole guest: RAM split at 3 GiB, the rest at 4 GiB.
  check_raw("x86_64-pc-7.2-3584m", tmp_, 0xc0000000);
}

TEST_F(VmcoreOracle, OverridesMoveTheSplitAndExistingOutputIsKept) {
  const std::string name = "x86_64-pc-7.2-below4g-2g";
  auto dump = Dump::open(stream_path(name));
  ASSERT_TRUE(dump.ok());
  // The CMOS tells 2 GiB (max-ram-below-4g=2G); without it the rules would say 3 GiB.
  auto layout = ops::guest_layout(*dump);
  ASSERT_TRUE(layout.ok()) << layout.error().message();
  EXPECT_EQ(layout->below_4g, 0x80000000u);
  LayoutOverrides ov;
  ov.below_4g = 0xc0000000;
  auto forced = ops::guest_layout(*dump, ov);
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ(forced->below_4g, 0xc0000000u);
  EXPECT_EQ(forced->split_source, "option");
  // An existing output is never replaced without force.
  ops::VmcoreOptions options;
  options.output = (tmp_ / "exists.core").string();
  { std::ofstream(options.output) << "keep me"; }
  auto refused = ops::vmcore(*dump, options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::output_refused);
  EXPECT_EQ(test::read_file(options.output), "keep me");
  for (const auto& e : fs::directory_iterator(tmp_)) EXPECT_EQ(e.path().filename(), "exists.core") << "left behind";
}

TEST_F(VmcoreOracle, APlacementPastTheAddressSpaceIsRefused) {
  // fuzz_layout (regressions/layout-place-top-empty-range.bin): a block
  // placed where it would run past 2^64 became an empty range (an empty
  // PT_LOAD) instead of an error.
  auto dump = Dump::open(stream_path("x86_64-q35-7.2"));
  ASSERT_TRUE(dump.ok());
  for (const std::uint64_t at : {~std::uint64_t{0}, ~std::uint64_t{0} - 0x1000, std::uint64_t{0} - 0x20000}) {
    LayoutOverrides ov;
    ov.place.emplace_back("pc.rom", at);
    auto layout = ops::guest_layout(*dump, ov);
    ASSERT_FALSE(layout.ok()) << at;
    EXPECT_EQ(layout.error().code, ErrorCode::usage);
    EXPECT_NE(layout.error().message().find("past the end of the address space"), std::string::npos);
  }
  // fuzz_layout: the RAM above 4 GiB moved where it does not fit.
  for (const std::uint64_t start : {~std::uint64_t{0}, std::uint64_t{0} - 0x100000}) {
    LayoutOverrides high;
    high.below_4g = 0x800000;
    high.above_4g_start = start;
    auto cut = ops::guest_layout(*dump, high);
    ASSERT_FALSE(cut.ok()) << start;
    EXPECT_EQ(cut.error().code, ErrorCode::usage);
    EXPECT_NE(cut.error().message().find("RAM above 4 GiB starting at"), std::string::npos) << cut.error().message();
  }
  // Ending a page below 2^64, the whole block is mapped.
  LayoutOverrides top;
  top.place.emplace_back("pc.rom", std::uint64_t{0} - 0x21000);
  auto fits = ops::guest_layout(*dump, top);
  ASSERT_TRUE(fits.ok()) << fits.error().message();
  for (const GuestRange& r : fits->ranges) EXPECT_GT(r.length, 0u) << r.block;
  EXPECT_EQ(fits->end(), std::uint64_t{0} - 0x1000);
}

TEST_F(VmcoreOracle, TruncatedStreamLeavesNoOutput) {
  const std::string src = stream_path("x86_64-q35-7.2");
  const std::string cut = (tmp_ / "cut.mig").string();
  const std::string all = test::read_file(src);
  { std::ofstream(cut, std::ios::binary).write(all.data(), static_cast<std::streamsize>(all.size() / 2)); }
  auto dump = Dump::open(cut);
  ASSERT_TRUE(dump.ok());
  ops::VmcoreOptions options;
  options.output = (tmp_ / "cut.core").string();
  auto r = ops::vmcore(*dump, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::truncated);
  EXPECT_FALSE(fs::exists(options.output));
  for (const auto& e : fs::directory_iterator(tmp_)) EXPECT_EQ(e.path().filename(), "cut.mig") << "left behind";
}

TEST_F(VmcoreOracle, GdbReadsTheCoreAsItReadsQemusOwn) {
  // gdb -c on our core prints the registers it printed on QEMU's (recorded in the oracle).
  if (test::run_command("command -v gdb >/dev/null", nullptr) != 0) GTEST_SKIP() << "gdb is not installed (scripts/install-deps.sh installs it)";
  for (const char* name : {"x86_64-q35-7.2-booted", "x86_64-q35-7.2-smp4", "x86_64-pc-7.2-vga"}) {
    SCOPED_TRACE(name);
    const rapidjson::Document oracle = load_oracle(test::corpus_dir() + "/vmcore/oracle/" + name + ".json");
    ASSERT_TRUE(oracle.HasMember("gdb"));
    const std::string core = (tmp_ / (std::string(name) + ".core")).string();
    std::string out;
    ASSERT_EQ(0, test::run_command(test::tool_path("migscope") + " vmcore " + stream_path(name) + " -o " + core, &out));
    ASSERT_EQ(0, test::run_command("gdb -batch -nx -c " + core + " -ex 'info registers' 2>/dev/null", &out));
    const std::string want = oracle["gdb"]["registers"].GetString();
    EXPECT_NE(out.find(want), std::string::npos) << "gdb printed:\n" << out << "\nQEMU's core gave:\n" << want;
    fs::remove(core);
  }
}

TEST_F(VmcoreOracle, InfoShowsTheMapVmcoreUses) {
  const std::string name = "x86_64-q35-7.2-3g";
  const rapidjson::Document oracle = load_oracle(test::corpus_dir() + "/vmcore/oracle/" + name + ".json");
  auto dump = Dump::open(stream_path(name));
  ASSERT_TRUE(dump.ok());
  const ops::InfoReport info = ops::info(*dump);
  ASSERT_TRUE(info.layout) << info.layout_error;
  const auto& loads = oracle["loads"];
  ASSERT_EQ(info.layout->ranges.size(), loads.Size());
  for (rapidjson::SizeType i = 0; i < loads.Size(); ++i) {
    EXPECT_EQ(info.layout->ranges[i].paddr, hexnum(loads[i]["paddr"]));
    EXPECT_EQ(info.layout->ranges[i].length, hexnum(loads[i]["memsz"]));
  }
  EXPECT_EQ(info.layout->below_4g, 0x80000000u);  // q35 from 0xb0000000 of RAM: 2 GiB below
  // A stream cut short has no map (what it would be is not known).
  const std::string cut = (tmp_ / "cut.mig").string();
  const std::string all = test::read_file(stream_path("x86_64-q35-7.2"));
  { std::ofstream(cut, std::ios::binary).write(all.data(), static_cast<std::streamsize>(all.size() - 100)); }
  auto cut_dump = Dump::open(cut);
  ASSERT_TRUE(cut_dump.ok());
  EXPECT_FALSE(ops::info(*cut_dump).layout);
}

TEST_F(VmcoreOracle, EveryWrappedInputGivesTheCoreOfItsBareStream) {
  // A libvirt save (each compression), a compressed dump, a qcow2 snapshot:
  // the same core, byte for byte, as the bare stream inside them.
  const std::string w = test::binary_dir() + "/corpus/wrapped/";
  struct Pair {
    const char* input;
    const char* snapshot;
    const char* stream;
  };
  const Pair pairs[] = {
      {"q35-zstd.save", "", "q35-zstd.stream.mig"},   {"q35-xz.save", "", "q35-xz.stream.mig"},
      {"pc-lzop.save", "", "pc-lzop.stream.mig"},     {"q35-dump-gzip.mig.gz", "", "q35-dump-gzip.stream.mig"},
      {"q35-2snaps.qcow2", "s2", "q35-2snaps.s2.stream.mig"},
      {"q35-zstd-vmstate.qcow2", "", "q35-zstd-vmstate.s1.stream.mig"},
  };
  for (const Pair& p : pairs) {
    SCOPED_TRACE(p.input);
    if (!fs::exists(w + p.input)) continue;  // the zstd save needs no chroot, but keep to what is built
    std::string cores[2];
    for (int k = 0; k < 2; ++k) {
      auto dump = Dump::open(w + (k ? p.stream : p.input), OpenOptions{"", k ? "" : p.snapshot});
      ASSERT_TRUE(dump.ok()) << dump.error().message();
      ops::VmcoreOptions options;
      options.output = (tmp_ / (k ? "bare.core" : "wrapped.core")).string();
      auto r = ops::vmcore(*dump, options);
      ASSERT_TRUE(r.ok()) << r.error().message();
      EXPECT_GT(r->layout.ranges.size(), 0u);
      cores[k] = test::read_file(options.output);
      fs::remove(options.output);
    }
    EXPECT_TRUE(cores[0] == cores[1]) << "the cores differ";
  }
}
