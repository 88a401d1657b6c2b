// qcow2 internal snapshots (input/qcow2): the header and snapshot table, the
// choice of a snapshot, and a snapshot's VM state read through its L1 and L2
// tables, over images built here to docs/interop/qcow2.txt (QEMU's own
// images are in corpus/wrapped/, see wrapped_corpus_test.cpp).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "test_compress.h"
#include <zlib.h>
#include <zstd.h>

#include "input/qcow2.h"
#include "migscope/input.h"
#include "stream_builder.h"
#include "test_paths.h"

namespace migscope {
namespace {

using test::StreamBuilder;

Bytes bytes_of(const std::string& s) { return {reinterpret_cast<const std::byte*>(s.data()), s.size()}; }

void put_be64(std::string& img, std::size_t at, std::uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) img[at + static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
}

// Raw deflate with QEMU's window (qcow2_compress: deflateInit2(..., -12, ...)).
std::string deflate_cluster(const std::string& data) {
  return test::deflate_bytes(data, Z_DEFAULT_COMPRESSION, -12, 9);
}

// A zstd frame, as QEMU's qcow2_zstd_compress writes one per cluster.
std::string zstd_frame(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const std::size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// One cluster of a snapshot's VM state, and how the image stores it.
enum class Kind { normal, zero_flag, unallocated, compressed, subclusters };

// A qcow2 image to the spec: header (v2 or v3) in cluster 0, the snapshot
// table in cluster 1, then for each snapshot its L1 table, one L2 table and
// its clusters. The disk is 4 clusters, so each VM state sits at L1 index 1.
struct Qcow2Builder {
  std::uint32_t version = 3, cluster_bits = 9;
  bool extended = false;
  std::uint8_t compression_type = 0;  // 1: zstd clusters, incompatible bit 3, header_length 112
  struct Snap {
    std::string id, name, state;
    std::vector<Kind> kinds;  // per cluster, repeated
  };
  std::vector<Snap> snaps;
  std::uint64_t snapshots_offset = 0;  // 0: cluster 1
  /// After build(): where each compressed cluster's L2 entry and data are.
  mutable std::vector<std::pair<std::uint64_t, std::uint64_t>> compressed;

  std::uint64_t cluster() const { return std::uint64_t{1} << cluster_bits; }

  std::string build() const {
    compressed.clear();
    const std::uint64_t cs = cluster();
    const unsigned l2_bits = cluster_bits - (extended ? 4 : 3);
    const std::uint64_t disk = cs * 4;
    const std::uint64_t l1_index = (disk + (std::uint64_t{1} << (cluster_bits + l2_bits)) - 1) >> (cluster_bits + l2_bits);
    std::string img(2 * cs, '\0');
    auto alloc = [&] {
      const std::uint64_t at = img.size();
      img.resize(img.size() + cs, '\0');
      return at;
    };
    std::string table;
    for (const Snap& sn : snaps) {
      const std::uint64_t l1 = alloc(), l2 = alloc();
      put_be64(img, l1 + 8 * l1_index, l2 | (std::uint64_t{1} << 63));
      const std::uint64_t entry_size = extended ? 16 : 8;
      for (std::uint64_t k = 0; k * cs < sn.state.size(); ++k) {
        std::string chunk = sn.state.substr(k * cs, cs);
        chunk.resize(cs, '\0');
        const Kind kind = sn.kinds.empty() ? Kind::normal : sn.kinds[k % sn.kinds.size()];
        std::uint64_t entry = 0, bitmap = 0;
        if (kind == Kind::zero_flag) {
          entry = 1;
          bitmap = 0xffffffffull << 32;
        } else if (kind == Kind::compressed) {
          const std::string packed = compression_type == 1 ? zstd_frame(chunk) : deflate_cluster(chunk);
          const std::uint64_t at = alloc();
          compressed.emplace_back(l2 + entry_size * k, at);
          std::memcpy(img.data() + at, packed.data(), packed.size());
          const unsigned x = 62 - (cluster_bits - 8);
          entry = (std::uint64_t{1} << 62) | (((packed.size() + 511) / 512 - 1) << x) | at;
        } else if (kind != Kind::unallocated) {
          const std::uint64_t at = alloc();
          std::memcpy(img.data() + at, chunk.data(), cs);
          entry = at | (std::uint64_t{1} << 63);
          // Subclusters: the odd ones read as zeros (bits 32-63), the rest allocated.
          bitmap = kind == Kind::subclusters ? 0xaaaaaaaa00000000ull | 0x55555555ull : 0xffffffffull;
        }
        put_be64(img, l2 + entry_size * k, entry);
        if (extended) put_be64(img, l2 + entry_size * k + 8, bitmap);
      }
      StreamBuilder e;
      e.be64(l1).be32(static_cast<std::uint32_t>(l1_index + 1)).be16(static_cast<std::uint16_t>(sn.id.size()));
      e.be16(static_cast<std::uint16_t>(sn.name.size())).be32(1700000000).be32(0).be64(0);
      e.be32(static_cast<std::uint32_t>(sn.state.size())).be32(16).be64(sn.state.size()).be64(disk).raw(sn.id).raw(sn.name);
      std::string s = e.str();
      s.resize((s.size() + 7) / 8 * 8, '\0');
      table += s;
    }
    StreamBuilder h;
    h.raw(std::string_view("QFI\xfb", 4)).be32(version).be64(0).be32(0).be32(cluster_bits).be64(disk).be32(0);
    h.be32(0).be64(0).be64(0).be32(0).be32(static_cast<std::uint32_t>(snaps.size()));
    h.be64(snapshots_offset ? snapshots_offset : cs);
    if (version == 3) {
      h.be64((extended ? 16 : 0) | (compression_type ? 8 : 0)).be64(0).be64(0).be32(4).be32(compression_type ? 112 : 104);
      if (compression_type) h.u8(compression_type).fill(7, 0);
    }
    const std::string head = h.str();
    std::memcpy(img.data(), head.data(), head.size());
    if (table.size() > cs) table.resize(cs);
    std::memcpy(img.data() + cs, table.data(), table.size());
    return img;
  }
};

// Bytes that are not zero in any cluster of 512.
std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('A' + (i * 7 + i / 512) % 26);
  return s;
}

Result<std::string> read_all(const std::string& img, const Qcow2Snapshot& sn, std::size_t chunk) {
  auto image = read_qcow2(bytes_of(img));
  if (!image.ok()) return std::move(image).error();
  auto reader = open_vmstate(bytes_of(img), *image, sn, "test.qcow2", /*release_behind=*/false);
  std::string out;
  std::vector<std::byte> buf(chunk);
  for (;;) {
    MIGSCOPE_ASSIGN(std::size_t n, reader->read(buf));
    if (n == 0) return out;
    out.append(reinterpret_cast<const char*>(buf.data()), n);
  }
}

TEST(Qcow2, AVmStateAcrossTwoTo64IsCorruptNotWrapped) {
  // fuzz_qcow2 (regressions/qcow2-vmstate-past-2-64.bin): a snapshot's disk
  // size puts its VM state in the last L1 entry's span, and the state is
  // longer than that span: its later clusters would wrap to guest address 0.
  Qcow2Builder b;
  b.snaps.push_back({"1", "s", pattern(1000), {Kind::normal}});
  const std::string img = b.build();
  auto image = read_qcow2(bytes_of(img));
  ASSERT_TRUE(image.ok()) << image.error().message();
  ASSERT_FALSE(image->snapshots.empty());
  Qcow2Snapshot sn = image->snapshots[0];
  const unsigned shift = b.cluster_bits + b.cluster_bits - 3;
  const std::uint64_t span = std::uint64_t{1} << shift;
  sn.disk_size = 0 - 2 * span + 1;  // the VM state starts at 2^64 - span
  sn.vm_state_size = span + 4096;
  auto r = read_all(img, sn, 4096);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::corrupt);
  EXPECT_NE(r.error().message().find("beyond 2^64"), std::string::npos) << r.error().message();
}

TEST(Qcow2, EveryClusterKindReadsAsItsBytes) {
  for (int variant = 0; variant < 4; ++variant) {
    const bool extended = variant & 1;
    const auto compression = static_cast<std::uint8_t>(variant >> 1);
    SCOPED_TRACE(std::string(extended ? "extended L2" : "standard L2") + (compression ? ", zstd" : ", deflate"));
    Qcow2Builder b;
    b.extended = extended;
    b.cluster_bits = extended ? 12 : 9;
    b.compression_type = compression;
    const std::string state = pattern(12 * (std::size_t{1} << b.cluster_bits) + 100);  // every kind twice
    b.snaps.push_back({"1", "s1", state, {Kind::normal, Kind::zero_flag, Kind::compressed, Kind::unallocated,
                                          extended ? Kind::subclusters : Kind::normal}});
    const std::string img = b.build();
    auto image = read_qcow2(bytes_of(img));
    ASSERT_TRUE(image.ok()) << image.error().message();
    ASSERT_EQ(image->snapshots.size(), 1u);
    EXPECT_EQ(image->extended_l2, extended);
    EXPECT_EQ(image->compression_type, compression);
    ASSERT_FALSE(b.compressed.empty());
    // What each kind must read as: the bytes, or zeros.
    std::string want = state;
    const std::size_t cs = std::size_t{1} << b.cluster_bits;
    for (std::size_t k = 0; k * cs < want.size(); ++k) {
      const std::size_t len = std::min(cs, want.size() - k * cs);
      const std::size_t kind = k % 5;
      if (kind == 1 || kind == 3) std::fill_n(want.begin() + static_cast<std::ptrdiff_t>(k * cs), len, '\0');
      if (kind == 4 && extended)
        for (std::size_t i = 0; i < len; ++i)
          if ((i / (cs / 32)) % 2 == 1) want[k * cs + i] = '\0';
    }
    for (std::size_t chunk : {std::size_t{1}, std::size_t{333}, std::size_t{1} << 16}) {
      auto got = read_all(img, image->snapshots[0], chunk);
      ASSERT_TRUE(got.ok()) << got.error().message();
      EXPECT_TRUE(*got == want) << "chunk " << chunk;
    }
  }
}

TEST(Qcow2, ASnapshotTableBeyondTheEndIsNamedAtTheFieldThatPointsThere) {
  // Seen on fuzz_wrappers' seed of the real image's first 4 KB: the error
  // named the table's own offset, beyond the input (fuzz_common.h refuses that).
  Qcow2Builder b;
  b.snaps.push_back({"1", "s1", pattern(600), {}});
  b.snapshots_offset = std::uint64_t{1} << 30;
  const std::string img = b.build();
  auto image = read_qcow2(bytes_of(img));
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.error().code, ErrorCode::truncated);
  EXPECT_EQ(image.error().offset, 64u) << "the header's snapshots_offset field";
  EXPECT_NE(image.error().detail.find("0x40000000"), std::string::npos) << image.error().detail;

  // A second entry that does not fit: named at the entry before it, which
  // is copied to the last 72 bytes of the file.
  Qcow2Builder two;
  two.snaps.push_back({"1", "s1", pattern(600), {}});
  std::string cut = two.build();
  std::memcpy(cut.data() + cut.size() - 72, cut.data() + 512, 72);
  cut[63] = 2;                         // nb_snapshots (be32 at 60)
  put_be64(cut, 64, cut.size() - 72);  // snapshots_offset
  auto image2 = read_qcow2(bytes_of(cut));
  ASSERT_FALSE(image2.ok());
  EXPECT_EQ(image2.error().code, ErrorCode::truncated);
  EXPECT_EQ(image2.error().offset, cut.size() - 72);
}

TEST(Qcow2, AChoiceErrorListsAFewSnapshotsOnly) {
  // 65536 entries with 64 KiB names once made a choice error of gigabytes;
  // the list is cut after 16, and each id and name after 64 bytes.
  Qcow2Builder b;
  b.cluster_bits = 13;
  for (int i = 0; i < 100; ++i)
    b.snaps.push_back({std::to_string(i), std::string(i == 0 ? 300 : 3, 'n'), i < 2 ? pattern(10) : "", {}});
  const std::string img = b.build();
  auto image = read_qcow2(bytes_of(img));
  ASSERT_TRUE(image.ok()) << image.error().message();
  ASSERT_EQ(image->snapshots.size(), 100u);
  auto none = choose_snapshot(*image, "");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::usage);
  const std::string& text = none.error().detail;
  EXPECT_NE(text.find("2 snapshots that have a VM state"), std::string::npos) << text;
  EXPECT_NE(text.find(" and 84 more"), std::string::npos) << text;
  EXPECT_NE(text.find(std::string(64, 'n') + "..."), std::string::npos) << text;
  EXPECT_EQ(text.find(std::string(65, 'n')), std::string::npos) << text;
  EXPECT_LT(text.size(), 1000u);
  auto chosen = choose_snapshot(*image, "1");
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ((*chosen)->id, "1");
}

TEST(Qcow2, TheImageBehindTheVmStateReaderLeavesTheResidentSet) {
  // A 64 MiB VM state in 64 KiB clusters, mapped: the clusters and tables
  // read must not stay resident (a multi-GB snapshot would be by its end).
  Qcow2Builder b;
  b.cluster_bits = 16;
  std::string state(64u << 20, '\0');
  for (std::size_t i = 0; i < state.size(); i += 512) state[i] = static_cast<char>(1 + i / 65536 % 250);
  b.snaps.push_back({"1", "big", state, {Kind::normal}});
  const std::string img = b.build();
  const std::string path = (std::filesystem::temp_directory_path() / ("migscope-qcow2-" + std::to_string(::getpid()))).string();
  std::ofstream(path, std::ios::binary).write(img.data(), static_cast<std::streamsize>(img.size()));
  auto in = InputFile::open(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(in.ok()) << in.error().message();
  auto image = read_qcow2(in->bytes());
  ASSERT_TRUE(image.ok()) << image.error().message();
  auto reader = open_vmstate(in->bytes(), *image, image->snapshots[0], "big.qcow2");
  std::vector<std::byte> buf(1u << 20);
  std::uint64_t total = 0, max_resident = 0;
  for (;;) {
    auto n = reader->read(buf);
    ASSERT_TRUE(n.ok()) << n.error().message();
    if (*n == 0) break;
    ASSERT_EQ(std::memcmp(buf.data(), state.data() + total, *n), 0);
    total += *n;
    max_resident = std::max(max_resident, test::mapping_resident_bytes(in->bytes().data()));
  }
  EXPECT_EQ(total, state.size());
  ASSERT_NE(max_resident, UINT64_MAX);
  EXPECT_LT(max_resident, std::uint64_t{24} << 20) << "of a 64 MiB VM state";
}

// A zstd cluster as QEMU's qcow2_zstd_decompress reads it: one or more
// frames that give exactly one cluster and end with it; what follows them in
// the last sector (the next cluster's data) is not read.
TEST(Qcow2, ZstdClustersAreReadAsQemuReadsThem) {
  const std::string state = pattern(4096);
  Qcow2Builder b;
  b.cluster_bits = 12;
  b.compression_type = 1;
  b.snaps.push_back({"1", "s1", state, {Kind::compressed}});
  const std::string base = b.build();
  ASSERT_EQ(b.compressed.size(), 1u);
  const auto [l2_at, host] = b.compressed[0];
  const unsigned x = 62 - (b.cluster_bits - 8);
  // Rewrite the one cluster's data (and its sector count) and read it.
  auto read_with = [&](const std::string& data) {
    std::string img = base;
    std::memset(img.data() + host, 0, 4096);
    std::memcpy(img.data() + host, data.data(), std::min<std::size_t>(data.size(), 4096));
    const std::uint64_t sectors = (std::min<std::size_t>(data.size(), 4096) + 511) / 512;
    put_be64(img, l2_at, (std::uint64_t{1} << 62) | ((sectors - 1) << x) | host);
    auto image = read_qcow2(bytes_of(img));
    EXPECT_TRUE(image.ok());
    return read_all(img, image->snapshots[0], 4096);
  };
  auto one = read_with(zstd_frame(state));
  ASSERT_TRUE(one.ok()) << one.error().message();
  EXPECT_TRUE(*one == state);
  auto two = read_with(zstd_frame(state.substr(0, 1000)) + zstd_frame(state.substr(1000)));
  ASSERT_TRUE(two.ok()) << two.error().message();
  EXPECT_TRUE(*two == state);
  std::string trailing = zstd_frame(state);
  trailing += std::string(600, '\x5a');  // garbage to the end of its sectors
  auto garbage = read_with(trailing);
  ASSERT_TRUE(garbage.ok()) << garbage.error().message();
  EXPECT_TRUE(*garbage == state);
  struct Bad {
    const char* what;
    std::string data;
    const char* says;
  };
  const std::string frame = zstd_frame(state);
  // (zstd reads the zero padding after a short frame as a next frame: "Unknown frame descriptor".)
  for (const Bad& bad : {Bad{"a frame cut short", frame.substr(0, frame.size() / 2), "does not decompress"},
                         Bad{"less than a cluster", zstd_frame(state.substr(0, 3000)), "does not decompress"},
                         Bad{"more than a cluster", zstd_frame(state + "more"), "more than a cluster"},
                         Bad{"not zstd", std::string(512, '\x11'), "does not decompress"}}) {
    SCOPED_TRACE(bad.what);
    auto r = read_with(bad.data);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::corrupt);
    EXPECT_EQ(r.error().offset, host);
    EXPECT_NE(r.error().detail.find(bad.says), std::string::npos) << r.error().detail;
  }
}

TEST(Qcow2, TheCompressionTypeMustAgreeWithItsFeatureBit) {
  Qcow2Builder b;
  b.compression_type = 1;
  b.snaps.push_back({"1", "s1", pattern(600), {}});
  const std::string zstd = b.build();
  ASSERT_TRUE(read_qcow2(bytes_of(zstd)).ok());
  struct Case {
    const char* what;
    std::size_t at;
    std::uint8_t value;
    ErrorCode code;
    std::uint64_t offset;
  };
  for (const Case& c : {Case{"unknown type 2", 104, 2, ErrorCode::unsupported, 104},
                        Case{"zstd without bit 3", 79, 0, ErrorCode::corrupt, 72},
                        Case{"bit 3 with deflate", 104, 0, ErrorCode::corrupt, 72}}) {
    SCOPED_TRACE(c.what);
    std::string img = zstd;
    img[c.at] = static_cast<char>(c.value);
    auto r = read_qcow2(bytes_of(img));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, c.code);
    EXPECT_EQ(r.error().offset, c.offset);
  }
  // A header of 104 bytes has no compression type: deflate.
  Qcow2Builder plain;
  plain.snaps.push_back({"1", "s1", pattern(600), {}});
  auto p = read_qcow2(bytes_of(plain.build()));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->compression_type, 0u);
}

// QEMU's own images (corpus/wrapped/*.qcow2) cut short anywhere past their
// header: a cut image is an error (truncated), however much of a snapshot's
// VM state the part left still holds - the tables and clusters it refers to
// run past the end, as `qemu-img check` would report.
TEST(Qcow2, QemusImagesCutShortAnywhereAreTruncated) {
  const std::filesystem::path dir = std::filesystem::path(test::binary_dir()) / "corpus" / "wrapped";
  int images = 0, cuts = 0;
  if (std::filesystem::exists(dir))
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.path().extension() != ".qcow2") continue;
      ++images;
      const std::string img = test::read_file(e.path().string());
      ASSERT_GT(img.size(), 4096u);
      std::vector<std::size_t> at;
      for (std::size_t k = 1; k < 64; ++k) at.push_back(4096 + (img.size() - 4096) * k / 64);
      for (std::size_t tail : {1, 2, 511, 512, 4096, 65535, 65536}) at.push_back(img.size() - tail);
      for (std::size_t n : at) {
        SCOPED_TRACE(e.path().filename().string() + " cut to " + std::to_string(n));
        auto image = read_qcow2(bytes_of(img.substr(0, n)));
        ASSERT_FALSE(image.ok());
        EXPECT_EQ(image.error().code, ErrorCode::truncated) << image.error().message();
        ++cuts;
      }
      EXPECT_TRUE(read_qcow2(bytes_of(img)).ok());
    }
  EXPECT_GE(images, 2) << "the wrapped corpus is unpacked into the build directory";
  EXPECT_GE(cuts, 140);
}

}  // namespace
}  // namespace migscope
