// The streaming extractor behind a page index (StreamFanout{&index,
// &extractor}, as `extract` runs it): after commit, one file per block holds
// the final content of every page (the last record wins, XBZRLE applies onto
// the version before, a zero page over data leaves a hole, a postcopy discard
// punches what was written); threaded and unthreaded give the same files;
// nothing carries a final name before commit.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include "input/input.h"
#include "migscope/stream.h"
#include "ram/page_index.h"
#include "ram/xbzrle.h"
#include "sinks/extractor.h"
#include "sinks/output_dir.h"
#include "stream_builder.h"

namespace fs = std::filesystem;

namespace migscope {
namespace {

using test::StreamBuilder;
constexpr std::uint64_t P = 4096;
using Page = std::vector<std::byte>;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "migscope-extractor-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr) << std::strerror(errno);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

Page read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Page out(chars.size());
  std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

// True if [offset, offset + length) of the file holds no data (a hole).
bool is_hole(const std::string& path, std::uint64_t offset, std::uint64_t length) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  off_t data = ::lseek(fd, static_cast<off_t>(offset), SEEK_DATA);
  const int err = errno;
  ::close(fd);
  if (data < 0) return err == ENXIO;  // no data at or after offset
  return static_cast<std::uint64_t>(data) >= offset + length;
}

// Whether the temporary directory's filesystem punches holes that SEEK_DATA
// sees (the extractor writes zeros where it cannot punch).
bool filesystem_reports_holes(const TempDir& d) {
  const std::string path = d / "probe";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  Page two(2 * P, std::byte{1});
  bool ok = ::pwrite(fd, two.data(), two.size(), 0) == static_cast<ssize_t>(two.size()) &&
            ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(P)) == 0;
  ::close(fd);
  ok = ok && is_hole(path, 0, P) && !is_hole(path, P, P);
  ::unlink(path.c_str());
  return ok;
}

std::vector<std::string> regular_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

Page pattern_page(std::uint64_t seed) {
  Page p(P);
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (std::size_t i = 0; i < P; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = static_cast<std::byte>(x);
  }
  return p;
}

Page deflate_page(const Page& page) {
  uLongf len = compressBound(P);
  Page out(len);
  EXPECT_EQ(compress2(reinterpret_cast<Bytef*>(out.data()), &len, reinterpret_cast<const Bytef*>(page.data()), P, 6), Z_OK);
  out.resize(len);
  return out;
}

// Builds a stream's RAM records and, beside them, what each block must end up
// holding and how many page writes that takes.
struct Script {
  StreamBuilder b;
  std::map<std::string, Page> model;
  std::map<std::string, std::uint64_t> writes;

  void blocks(std::initializer_list<StreamBuilder::Block> list) {
    b.ram_mem_size(list);
    for (const auto& blk : list) model[blk.name].assign(blk.length, std::byte{0});
  }
  std::byte* at(const std::string& block, std::uint64_t page) { return model[block].data() + page * P; }
  void page(std::uint64_t page, const std::string& block, const Page& content, bool name = true) {
    b.ram_header(page * P, 0x08, name ? block : "").raw(content);
    std::memcpy(at(block, page), content.data(), P);
    ++writes[block];
  }
  void zero(std::uint64_t page, const std::string& block, std::uint8_t fill = 0, bool name = true) {
    b.ram_zero(page * P, name ? block : "", fill);
    std::memset(at(block, page), fill, P);
    if (fill != 0) ++writes[block];
  }
  void compressed(std::uint64_t page, const std::string& block, const Page& content) {
    b.ram_compress(page * P, block, deflate_page(content));
    std::memcpy(at(block, page), content.data(), P);
    ++writes[block];
  }
  // XBZRLE from the page's current content to `next`.
  void xbzrle(std::uint64_t page, const std::string& block, const Page& next) {
    Page prev(at(block, page), at(block, page) + P);
    Page delta(P + P / 64 + 16);
    long n = xbzrle_encode(prev, next, delta, P);
    ASSERT_GT(n, 0);
    delta.resize(static_cast<std::size_t>(n));
    b.ram_xbzrle(page * P, block, delta);
    std::memcpy(at(block, page), next.data(), P);
    ++writes[block];
  }
  void discard(const std::string& block, std::uint64_t start, std::uint64_t length) {
    StreamBuilder d;
    d.u8(0).counted(block).u8(0).be64(start).be64(length);
    b.command(6, d.bytes());
    std::memset(model[block].data() + start, 0, length);
  }
};

Page changed(Page p, std::uint64_t seed) {
  for (std::size_t k = 0; k < 5; ++k) {
    const std::size_t i = static_cast<std::size_t>((seed * 131 + k * 977) % P);
    p[i] ^= std::byte{0x5a};
  }
  return p;
}

struct Extraction {
  Status walk, finish, commit;
  std::vector<ExtractedBlock> blocks;
};

// One pass as core/ops/extract.cpp runs it; `before_commit` sees the
// directory after the writes finished and before anything was committed.
Extraction extract(const std::vector<std::byte>& bytes, const std::string& dir, bool threaded, bool commit,
                   const std::function<void()>& before_commit = {}) {
  Extraction x;
  auto out = OutputDir::open(dir, false);
  if (!out.ok()) {
    x.walk = out.error();
    return x;
  }
  PageIndex index{Bytes(bytes)};
  DirPageTarget files(*out);
  StreamingExtractor extractor(bytes, index, files, threaded, /*release_behind=*/false);
  StreamFanout fanout({&index, &extractor});
  auto loc = locate_stream(bytes);
  if (!loc.ok()) {
    x.walk = loc.error();
    return x;
  }
  auto w = walk_stream(bytes, *loc, {}, fanout);
  if (!w.ok()) x.walk = w.error();
  x.finish = extractor.finish();
  x.blocks = extractor.blocks();
  if (before_commit) before_commit();
  if (commit && x.walk.ok() && x.finish.ok()) x.commit = out->commit();
  return x;
}

void expect_ok(const Extraction& x) {
  EXPECT_TRUE(x.walk.ok()) << x.walk.error().message();
  EXPECT_TRUE(x.finish.ok()) << x.finish.error().message();
  EXPECT_TRUE(x.commit.ok()) << x.commit.error().message();
}

// Two blocks; every kind of record, re-sent pages, an XBZRLE chain inside one
// batch, XBZRLE onto a compressed page and onto a page never sent.
Script every_kind() {
  Script s;
  s.b.header().configuration("pc-q35-7.2");
  s.b.section_start(2, "ram", 0, 4);
  s.blocks({{"pc.ram", 8 * P}, {"/rom@etc/acpi/tables", 2 * P}});
  s.b.ram_eos().footer(2);
  s.b.section_part(2);
  s.page(0, "pc.ram", pattern_page(1));
  s.page(1, "pc.ram", pattern_page(2), false);
  s.page(2, "pc.ram", pattern_page(3), false);
  s.zero(3, "pc.ram", 0x5a, false);  // a non-zero fill is data (QEMU 7.2 memsets it)
  s.compressed(4, "pc.ram", pattern_page(4));
  s.page(5, "pc.ram", pattern_page(5));
  s.page(0, "/rom@etc/acpi/tables", pattern_page(6));
  s.zero(1, "/rom@etc/acpi/tables", 0, false);  // never data: stays a hole
  s.b.ram_eos().footer(2);
  s.b.section_end(2);
  s.page(1, "pc.ram", pattern_page(7));  // the last version wins
  s.zero(2, "pc.ram", 0, false);         // zeros over data: a hole
  s.xbzrle(5, "pc.ram", changed(pattern_page(5), 1));
  s.xbzrle(6, "pc.ram", changed(Page(P), 2));  // never sent: applies onto zeros
  s.xbzrle(0, "pc.ram", changed(pattern_page(1), 3));
  s.xbzrle(0, "pc.ram", changed(changed(pattern_page(1), 3), 4));  // onto the version just before
  s.xbzrle(4, "pc.ram", changed(pattern_page(4), 5));               // onto a compressed page
  s.b.ram_eos().footer(2).eof();
  return s;
}

TEST(Extractor, FilesHoldTheFinalContentOfEveryPage) {
  for (bool threaded : {false, true}) {
    SCOPED_TRACE(threaded ? "threaded" : "unthreaded");
    Script s = every_kind();
    TempDir d;
    Extraction x = extract(s.b.vec(), d.path(), threaded, true);
    expect_ok(x);
    ASSERT_EQ(x.blocks.size(), 2u);
    EXPECT_EQ(x.blocks[0].name, "pc.ram");
    EXPECT_EQ(x.blocks[0].relative_path, "pc.ram");
    EXPECT_EQ(x.blocks[0].length, 8 * P);
    EXPECT_EQ(x.blocks[1].name, "/rom@etc/acpi/tables");
    EXPECT_EQ(x.blocks[1].relative_path, "rom@etc/acpi/tables");
    const Page ram = read_all(d / "pc.ram");
    const Page rom = read_all(d / "rom@etc/acpi/tables");
    ASSERT_EQ(ram.size(), 8 * P);
    ASSERT_EQ(rom.size(), 2 * P);
    for (std::uint64_t p = 0; p < 8; ++p)
      EXPECT_TRUE(std::equal(ram.begin() + p * P, ram.begin() + (p + 1) * P, s.at("pc.ram", p))) << "page " << p;
    EXPECT_EQ(rom, s.model["/rom@etc/acpi/tables"]);
    EXPECT_EQ(regular_files(d.path()), (std::vector<std::string>{"pc.ram", "rom@etc/acpi/tables"}));
  }
}

TEST(Extractor, ZeroPagesOverDataAndUnsentPagesAreHoles) {
  Script s = every_kind();
  TempDir d;
  if (!filesystem_reports_holes(d)) GTEST_SKIP() << "the temporary directory's filesystem does not report punched holes";
  Extraction x = extract(s.b.vec(), d.path(), false, true);
  expect_ok(x);
  const std::string ram = d / "pc.ram", rom = d / "rom@etc/acpi/tables";
  EXPECT_TRUE(is_hole(ram, 2 * P, P));  // data, then a zero page
  EXPECT_TRUE(is_hole(ram, 7 * P, P));  // never sent
  EXPECT_TRUE(is_hole(rom, P, P));      // only a zero page
  for (std::uint64_t p : {0, 1, 3, 4, 5, 6}) EXPECT_FALSE(is_hole(ram, p * P, P)) << "page " << p;
  EXPECT_FALSE(is_hole(rom, 0, P));
}

TEST(Extractor, PagesWrittenCountsEveryPageWrite) {
  for (bool threaded : {false, true}) {
    SCOPED_TRACE(threaded ? "threaded" : "unthreaded");
    Script s = every_kind();
    TempDir d;
    Extraction x = extract(s.b.vec(), d.path(), threaded, true);
    expect_ok(x);
    ASSERT_EQ(x.blocks.size(), 2u);
    EXPECT_EQ(x.blocks[0].pages_written, s.writes["pc.ram"]);
    EXPECT_EQ(x.blocks[1].pages_written, s.writes["/rom@etc/acpi/tables"]);
  }
}

TEST(Extractor, PostcopyDiscardPunchesPagesWrittenBefore) {
  Script s;
  s.b.header().configuration("pc-q35-7.2");
  s.b.section_start(2, "ram", 0, 4);
  s.blocks({{"pc.ram", 8 * P}, {"other", 2 * P}});
  s.b.ram_eos().footer(2);
  s.b.section_part(2);
  for (std::uint64_t p = 0; p < 4; ++p) s.page(p, "pc.ram", pattern_page(10 + p));
  s.page(0, "other", pattern_page(20));
  s.b.ram_eos().footer(2);
  s.discard("pc.ram", P, 2 * P);  // pages 1 and 2
  s.discard("pc.ram", 5 * P, P);  // never written: nothing to punch
  s.b.section_end(2);
  s.page(2, "pc.ram", pattern_page(30));  // sent again after the discard
  s.b.ram_eos().footer(2).eof();
  for (bool threaded : {false, true}) {
    SCOPED_TRACE(threaded ? "threaded" : "unthreaded");
    TempDir d;
    Extraction x = extract(s.b.vec(), d.path(), threaded, true);
    expect_ok(x);
    EXPECT_EQ(read_all(d / "pc.ram"), s.model["pc.ram"]);
    EXPECT_EQ(read_all(d / "other"), s.model["other"]);
    if (filesystem_reports_holes(d)) {
      EXPECT_TRUE(is_hole(d / "pc.ram", P, P));
      EXPECT_FALSE(is_hole(d / "pc.ram", 2 * P, P));
      EXPECT_FALSE(is_hole(d / "other", 0, P));
    }
  }
}

// Many records in several sections: more than one batch per section, so the
// threaded writer really runs beside the walk.
Script many_records() {
  Script s;
  s.b.header().configuration("pc-q35-7.2");
  s.b.section_start(2, "ram", 0, 4);
  s.blocks({{"pc.ram", 64 * P}, {"vga.vram", 16 * P}});
  s.b.ram_eos().footer(2);
  std::uint64_t i = 0;
  for (int section = 0; section < 3; ++section) {
    s.b.section_part(2);
    for (int k = 0; k < 4000; ++k, ++i) {
      const std::string block = i % 9 == 0 ? "vga.vram" : "pc.ram";
      const std::uint64_t page = block == "vga.vram" ? (i / 9) % 16 : (i * 13) % 64;
      switch (i % 5) {
        case 0:
        case 4:
          s.page(page, block, pattern_page(i));
          break;
        case 1:
          s.zero(page, block, 0);
          break;
        case 2:
          s.zero(page, block, static_cast<std::uint8_t>(i | 1));
          break;
        case 3:
          s.xbzrle(page, block, changed(Page(s.at(block, page), s.at(block, page) + P), i));
          break;
      }
    }
    s.b.ram_eos().footer(2);
  }
  s.b.eof();
  return s;
}

TEST(Extractor, ThreadedAndUnthreadedWriteIdenticalFiles) {
  Script s = many_records();
  TempDir inline_dir, threaded_dir;
  Extraction a = extract(s.b.vec(), inline_dir.path(), false, true);
  Extraction b = extract(s.b.vec(), threaded_dir.path(), true, true);
  expect_ok(a);
  expect_ok(b);
  for (const char* name : {"pc.ram", "vga.vram"}) {
    SCOPED_TRACE(name);
    const Page one = read_all(inline_dir / name), two = read_all(threaded_dir / name);
    EXPECT_TRUE(one == two);
    EXPECT_TRUE(one == s.model[name]);
  }
  ASSERT_EQ(a.blocks.size(), 2u);
  ASSERT_EQ(b.blocks.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(a.blocks[i].pages_written, b.blocks[i].pages_written);
    EXPECT_EQ(a.blocks[i].pages_written, s.writes[a.blocks[i].name]);
  }
}

TEST(Extractor, NothingHasItsFinalNameBeforeCommit) {
  for (bool threaded : {false, true}) {
    SCOPED_TRACE(threaded ? "threaded" : "unthreaded");
    Script s = every_kind();
    TempDir d;
    std::vector<std::string> seen;
    Extraction x = extract(s.b.vec(), d.path(), threaded, /*commit=*/false, [&] { seen = regular_files(d.path()); });
    EXPECT_TRUE(x.walk.ok()) << x.walk.error().message();
    EXPECT_TRUE(x.finish.ok()) << x.finish.error().message();
    // Written out, but as unnamed files (O_TMPFILE): nothing has a name yet.
    EXPECT_TRUE(seen.empty()) << seen.front();
    EXPECT_FALSE(fs::exists(d / "pc.ram"));
    // Never committed: the temporaries are gone too.
    EXPECT_TRUE(regular_files(d.path()).empty());

    TempDir committed;
    std::vector<std::string> before;
    Extraction y = extract(s.b.vec(), committed.path(), threaded, true, [&] { before = regular_files(committed.path()); });
    expect_ok(y);
    EXPECT_EQ(before, seen);
    EXPECT_EQ(regular_files(committed.path()), (std::vector<std::string>{"pc.ram", "rom@etc/acpi/tables"}));
  }
}

TEST(Extractor, FailedWalkLeavesNoFinalFiles) {
  Script s = many_records();
  std::vector<std::byte> cut(s.b.vec().begin(), s.b.vec().begin() + static_cast<std::ptrdiff_t>(s.b.size() / 2));
  for (bool threaded : {false, true}) {
    SCOPED_TRACE(threaded ? "threaded" : "unthreaded");
    TempDir d;
    Extraction x = extract(cut, d.path(), threaded, true);
    ASSERT_FALSE(x.walk.ok());
    EXPECT_EQ(x.walk.error().code, ErrorCode::truncated);
    EXPECT_TRUE(regular_files(d.path()).empty());
  }
}

}  // namespace
}  // namespace migscope
