// Hostile constructions end to end through the CLI (issue 6): hand-built
// streams with dangerous block names, absurd lengths and counts, broken
// payloads and hostile output directories. Every run must end with a
// documented exit code (README's table), never a signal (status >= 128), in
// bounded time and under `ulimit -v` (4 GB), with a one-line error naming the
// offset ("at 0x") where there is one; `extract` must write only inside its
// output directory and never replace what is there.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>
#include <zlib.h>

#include <gtest/gtest.h>

#include "stream_builder.h"
#include "test_paths.h"

#if defined(__SANITIZE_ADDRESS__)
#define MIGSCOPE_HOSTILE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MIGSCOPE_HOSTILE_ASAN 1
#endif
#endif

namespace migscope {
namespace {

namespace fs = std::filesystem;
using test::StreamBuilder;

constexpr double kMaxSeconds = 20.0;

// A scratch directory per test, removed at the end (symlinks are not followed).
class Scratch {
 public:
  Scratch() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = fs::path(test::binary_dir()) / "hostile-tmp" /
            (std::string(info->name()) + "-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  const fs::path& root() const { return root_; }
  std::string path(const std::string& rel) const { return (root_ / rel).string(); }
  std::string write(const std::string& rel, const StreamBuilder& b) const { return write(rel, b.str()); }
  std::string write(const std::string& rel, const std::string& bytes) const {
    std::ofstream f(root_ / rel, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path(rel);
  }

 private:
  fs::path root_;
};

struct CliRun {
  int status = -1;
  std::string out, err;
  double seconds = 0;
};

// Run `migscope ARGS` under a memory limit and a kill timer.
CliRun migscope(const Scratch& s, const std::string& args, int kill_after = 120) {
  CliRun r;
  const std::string err_file = s.path("stderr.txt");
  std::string cmd;
#ifndef MIGSCOPE_HOSTILE_ASAN
  cmd += "ulimit -v 4000000 && ";  // ASan reserves terabytes of shadow: no limit there
#endif
  cmd += "exec timeout -s KILL " + std::to_string(kill_after) + " " + test::tool_path("migscope") + " " + args + " 2>'" + err_file + "'";
  auto t0 = std::chrono::steady_clock::now();
  r.status = test::run_command(cmd, &r.out);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.err = test::read_file(err_file);
  return r;
}

// The lines of stderr that are not warnings or notes.
std::vector<std::string> error_lines(const std::string& err) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < err.size()) {
    std::size_t nl = err.find('\n', start);
    if (nl == std::string::npos) nl = err.size();
    std::string line = err.substr(start, nl - start);
    start = nl + 1;
    if (line.empty() || line.find(": warning") != std::string::npos || line.find(": note") != std::string::npos) continue;
    out.push_back(line);
  }
  return out;
}

bool has_control_bytes(const std::string& s) {
  for (unsigned char c : s)
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return true;
  return false;
}

// The common expectations: an allowed status, no signal, bounded time, and on
// failure one error line (with "at 0x" when `offset` is expected).
void expect_clean(const CliRun& r, std::initializer_list<int> allowed, bool offset, const std::string& what) {
  SCOPED_TRACE(what + "\nstderr: " + r.err);
  EXPECT_LT(r.status, 128) << "killed by a signal (status " << r.status << "; 137 = the kill timer)";
  bool ok = false;
  for (int a : allowed) ok = ok || a == r.status;
  EXPECT_TRUE(ok) << "exit status " << r.status;
  EXPECT_LT(r.seconds, kMaxSeconds) << "took " << r.seconds << " s";
  EXPECT_FALSE(has_control_bytes(r.err)) << "control bytes on stderr";
  if (r.status != 0 && r.status < 128) {
    auto lines = error_lines(r.err);
    EXPECT_EQ(lines.size(), 1u) << "expected exactly one error line";
    if (offset && !lines.empty()) {
      EXPECT_NE(lines[0].find("at 0x"), std::string::npos) << "no offset in: " << lines[0];
    }
  }
}

// A stream with one RAM section (START with MEM_SIZE, PART with `pages`, END), footers, EOF.
StreamBuilder ram_stream(std::initializer_list<StreamBuilder::Block> blocks,
                         const std::function<void(StreamBuilder&)>& pages, bool eof = true) {
  StreamBuilder b;
  b.header();
  b.section_start(1, "ram", 0, 4).ram_mem_size(blocks).ram_eos().footer(1);
  b.section_part(1);
  pages(b);
  b.ram_eos().footer(1);
  b.section_end(1).ram_eos().footer(1);
  if (eof) b.eof();
  return b;
}

// Every subcommand over `file`. `structure` applies to those that read only
// the structure (info, state); `content` to those that produce page contents
// (state -m, hash, extract), which also decode XBZRLE and zlib pages.
void all_readers(const Scratch& s, const std::string& file, std::initializer_list<int> structure,
                 std::initializer_list<int> content, bool offset, const std::string& what) {
  for (const char* cmd : {"info", "info --json", "state"}) {
    CliRun r = migscope(s, std::string(cmd) + " '" + file + "' >/dev/null");
    expect_clean(r, structure, offset, what + ": migscope " + cmd);
  }
  for (const char* cmd : {"state -m", "hash -j 2"}) {
    CliRun r = migscope(s, std::string(cmd) + " '" + file + "' >/dev/null");
    expect_clean(r, content, offset, what + ": migscope " + cmd);
  }
  static int n = 0;
  std::string out = s.path("out-" + std::to_string(++n));
  CliRun r = migscope(s, "extract '" + file + "' -o '" + out + "' >/dev/null");
  expect_clean(r, content, offset, what + ": migscope extract");
  if (r.status != 0) {
    // A failed extract leaves no output behind (or only the empty directory it created).
    std::error_code ec;
    bool empty = !fs::exists(out) || fs::is_empty(out, ec);
    EXPECT_TRUE(empty) << what << ": failed extract left files in " << out;
  }
}
void all_readers(const Scratch& s, const std::string& file, std::initializer_list<int> allowed, bool offset,
                 const std::string& what) {
  all_readers(s, file, allowed, allowed, offset, what);
}

// Everything under `root` except `skip`: path -> size (-1 dir, -2 symlink).
std::map<std::string, std::int64_t> snapshot(const fs::path& root, const fs::path& skip) {
  std::map<std::string, std::int64_t> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const fs::path& p = it->path();
    if (p == skip || p.filename() == "stderr.txt") {
      if (p == skip) it.disable_recursion_pending();
      continue;
    }
    auto st = it->symlink_status();
    out[p.lexically_relative(root).string()] =
        fs::is_symlink(st) ? -2 : fs::is_directory(st) ? -1 : static_cast<std::int64_t>(fs::file_size(p));
  }
  return out;
}

std::string zlib_compress(const std::string& in) {
  uLongf n = compressBound(static_cast<uLong>(in.size()));
  std::string out(n, '\0');
  EXPECT_EQ(compress2(reinterpret_cast<Bytef*>(out.data()), &n, reinterpret_cast<const Bytef*>(in.data()),
                      static_cast<uLong>(in.size()), 9),
            Z_OK);
  out.resize(n);
  return out;
}

std::span<const std::byte> as_span(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

constexpr std::uint64_t kPage = StreamBuilder::kPage;

// ---- output directory safety ----

TEST(Hostile, ExtractBlockNamesStayInsideDir) {
  Scratch s;
  fs::create_directories(s.root() / "canary");
  s.write("canary/keep", std::string("canary"));
  // An absolute name pointing at a real place (not /etc/passwd: a bug here
  // must not damage the machine running the tests).
  const std::string absolute = s.path("abs-target");
  const std::string nul_name("nul\0name", 8);
  auto b = ram_stream({{"../x", 2 * kPage}, {absolute, kPage}, {"a/../../b", kPage}, {"", kPage}, {nul_name, kPage},
                       {"../canary/keep", kPage}, {"..", kPage}, {"./../../y", kPage}},
                      [&](StreamBuilder& w) {
                        w.ram_page(0, "../x", 0x11).ram_page(kPage, "", 0x12);
                        w.ram_page(0, absolute, 0x22).ram_page(0, "a/../../b", 0x33).ram_page(0, "", 0x44);
                        w.ram_page(0, nul_name, 0x55).ram_page(0, "../canary/keep", 0x66).ram_page(0, "..", 0x77);
                        w.ram_page(0, "./../../y", 0x88);
                      });
  const std::string file = s.write("names.mig", b);
  const fs::path out = s.root() / "out";
  auto before = snapshot(s.root(), out);
  CliRun r = migscope(s, "extract '" + file + "' -o '" + out.string() + "' -j 2");
  expect_clean(r, {0, 6}, false, "extract of hostile names");
  EXPECT_EQ(snapshot(s.root(), out), before) << "something was written outside the output directory";
  EXPECT_EQ(test::read_file(s.path("canary/keep")), "canary");
  EXPECT_FALSE(fs::exists(s.root().parent_path() / "x"));
  EXPECT_FALSE(fs::exists(s.root().parent_path() / "b"));
  EXPECT_FALSE(fs::exists(s.root().parent_path() / "y"));
  EXPECT_FALSE(fs::exists(absolute));
  // Every file written is inside out/ and is a regular file.
  if (fs::exists(out))
    for (const auto& e : fs::recursive_directory_iterator(out)) {
      EXPECT_FALSE(fs::is_symlink(e.symlink_status())) << e.path();
      auto rel = fs::weakly_canonical(e.path()).lexically_relative(fs::weakly_canonical(out)).string();
      EXPECT_TRUE(rel.rfind("..", 0) != 0) << e.path();
    }
  if (r.status == 0) {
    EXPECT_TRUE(fs::exists(out / "state.json"));
  }
}

TEST(Hostile, ExtractKeepsExistingFiles) {
  Scratch s;
  auto b = ram_stream({{"pc.ram", 2 * kPage}}, [](StreamBuilder& w) { w.ram_page(0, "pc.ram", 0x5a); });
  const std::string file = s.write("s.mig", b);
  fs::create_directories(s.root() / "out");
  s.write("out/state.json", std::string("precious state"));
  s.write("out/pc.ram", std::string("precious ram"));
  auto before = snapshot(s.root(), fs::path());
  CliRun r = migscope(s, "extract '" + file + "' -o '" + s.path("out") + "'");
  expect_clean(r, {6}, false, "extract into a directory with existing outputs");
  EXPECT_EQ(test::read_file(s.path("out/state.json")), "precious state");
  EXPECT_EQ(test::read_file(s.path("out/pc.ram")), "precious ram");
  EXPECT_EQ(snapshot(s.root(), fs::path()), before) << "files appeared or changed (temporaries left behind?)";
}

TEST(Hostile, ExtractDoesNotFollowSymlinksInDir) {
  Scratch s;
  auto b = ram_stream({{"pc.ram", 2 * kPage}, {"sub/blk", kPage}},
                      [](StreamBuilder& w) { w.ram_page(0, "pc.ram", 0x5a).ram_page(0, "sub/blk", 0x5b); });
  const std::string file = s.write("s.mig", b);
  fs::create_directories(s.root() / "outside");
  s.write("outside/target", std::string("outside file"));
  for (const char* force : {"", " --force"}) {
    SCOPED_TRACE(std::string("with") + (*force ? force : "out --force"));
    const fs::path out = s.root() / (std::string("out") + (*force ? "-force" : ""));
    fs::create_directories(out);
    fs::create_symlink(s.root() / "outside" / "target", out / "pc.ram");  // a file symlink
    fs::create_directory_symlink(s.root() / "outside", out / "sub");      // a directory symlink
    auto outside_before = snapshot(s.root() / "outside", fs::path());
    CliRun r = migscope(s, "extract '" + file + "' -o '" + out.string() + "'" + force);
    expect_clean(r, {6}, false, "extract through symlinks");
    EXPECT_EQ(test::read_file(s.path("outside/target")), "outside file");
    EXPECT_EQ(snapshot(s.root() / "outside", fs::path()), outside_before) << "written through a symlink";
    EXPECT_TRUE(fs::is_symlink(out / "pc.ram"));
  }
}

TEST(Hostile, ExtractDirIsASymlinkOrAFile) {
  Scratch s;
  auto b = ram_stream({{"pc.ram", kPage}}, [](StreamBuilder& w) { w.ram_page(0, "pc.ram", 0x5a); });
  const std::string file = s.write("s.mig", b);
  s.write("plain-file", std::string("not a dir"));
  CliRun r = migscope(s, "extract '" + file + "' -o '" + s.path("plain-file") + "'");
  expect_clean(r, {6, 7}, false, "extract -o an existing regular file");
  EXPECT_EQ(test::read_file(s.path("plain-file")), "not a dir");
}

// ---- lengths, offsets and counts ----

TEST(Hostile, BlockLength2Pow62) {
  Scratch s;
  auto b = ram_stream({{"pc.ram", std::uint64_t{1} << 62}}, [](StreamBuilder& w) { w.ram_page(0, "pc.ram", 1); });
  all_readers(s, s.write("huge.mig", b), {0, 4, 5}, true, "block length 2^62");
}

TEST(Hostile, PageOffsetPastItsBlock) {
  Scratch s;
  auto b = ram_stream({{"pc.ram", 4 * kPage}}, [](StreamBuilder& w) { w.ram_page(4 * kPage, "pc.ram", 1); });
  all_readers(s, s.write("past.mig", b), {5}, true, "page offset == block length");
  auto c = ram_stream({{"pc.ram", 4 * kPage}},
                      [](StreamBuilder& w) { w.ram_page(0x7ffffffffffff000ull, "pc.ram", 1); });
  all_readers(s, s.write("far.mig", c), {5}, true, "page offset 2^63 - 4096");
}

TEST(Hostile, TruncatedPagePayload) {
  Scratch s;
  StreamBuilder b;
  b.header().section_start(1, "ram", 0, 4).ram_mem_size({{"pc.ram", 4 * kPage}}).ram_eos().footer(1);
  b.section_part(1).ram_header(0, 0x08, "pc.ram").fill(100, 0xab);
  all_readers(s, s.write("trunc.mig", b), {5}, true, "PAGE payload cut after 100 bytes");
}

TEST(Hostile, XbzrleRunLengthsOverflowThePage) {
  Scratch s;
  // zero run 4000, then a data run of 200 bytes: 4200 > 4096.
  StreamBuilder delta;
  delta.u8(0x80 | (4000 & 0x7f)).u8(4000 >> 7).u8(0x80 | (200 & 0x7f)).u8(200 >> 7).fill(200, 0xcd);
  auto b = ram_stream({{"pc.ram", 2 * kPage}}, [&](StreamBuilder& w) {
    w.ram_page(0, "pc.ram", 0x11).ram_xbzrle(0, "pc.ram", delta.bytes());
  });
  all_readers(s, s.write("xbzrle.mig", b), {0}, {5}, true, "XBZRLE runs past the page");
  // A 14-bit run length (16383) on its own.
  StreamBuilder big;
  big.u8(0xff).u8(0x7f).u8(0x01).u8(0xee);
  auto c = ram_stream({{"pc.ram", 2 * kPage}}, [&](StreamBuilder& w) { w.ram_xbzrle(kPage, "pc.ram", big.bytes()); });
  all_readers(s, s.write("xbzrle2.mig", c), {0}, {5}, true, "XBZRLE zero run of 16383");
}

TEST(Hostile, ZlibPageInflatesPastAPage) {
  Scratch s;
  const std::string z = zlib_compress(std::string(64 * kPage, 'z'));  // 256 KiB of 'z' in a few hundred bytes
  auto b = ram_stream({{"pc.ram", 2 * kPage}}, [&](StreamBuilder& w) { w.ram_compress(0, "pc.ram", as_span(z)); });
  all_readers(s, s.write("zbomb.mig", b), {0}, {5}, true, "zlib page inflating to 64 pages");
  const std::string shortz = zlib_compress(std::string(100, 'z'));
  auto c = ram_stream({{"pc.ram", 2 * kPage}}, [&](StreamBuilder& w) { w.ram_compress(0, "pc.ram", as_span(shortz)); });
  all_readers(s, s.write("zshort.mig", c), {0}, {5}, true, "zlib page inflating to 100 bytes");
}

TEST(Hostile, MemSizeTotalNeverAddsUp) {
  Scratch s;
  StreamBuilder b;
  b.header().section_start(1, "ram", 0, 4);
  b.be64((std::uint64_t{1} << 40) | 0x04).counted("pc.ram").be64(kPage);  // total 1 TiB, one 4 KiB block
  b.ram_eos().footer(1).eof();
  all_readers(s, s.write("memsize.mig", b), {5}, true, "MEM_SIZE total larger than its blocks");
  StreamBuilder c;
  c.header().section_start(1, "ram", 0, 4);
  c.be64(0xfffffffffffff000ull | 0x04);
  for (int i = 0; i < 2000; ++i) {
    std::string name = std::to_string(i);  // not "b" + to_string(): GCC 12 -Wrestrict false positive
    name.insert(0, 1, 'b');
    c.counted(name).be64(0x7fffffffffull);
  }
  c.ram_eos().footer(1).eof();
  all_readers(s, s.write("memsize2.mig", c), {4, 5}, true, "2000 blocks of 512 GiB");
}

TEST(Hostile, PackagedLengthLargerThanTheFile) {
  Scratch s;
  StreamBuilder b;
  b.header().command_raw(7, StreamBuilder().be32(0xfffffff0u));
  b.section_start(1, "ram", 0, 4).ram_mem_size({{"pc.ram", kPage}}).ram_eos().footer(1).eof();
  all_readers(s, s.write("packaged.mig", b), {5}, true, "PACKAGED length 0xfffffff0");
}

// ---- the description and JSON documents ----

std::string device_vmdesc(const std::string& field) {
  return R"({"page_size": 4096, "devices": [{"name": "dev", "instance_id": 0, "vmsd_name": "dev", "version": 1, "fields": [)" +
         field + "]}]}";
}

TEST(Hostile, VmdescArrayLen2Pow40) {
  Scratch s;
  for (const char* size : {"1", "0"}) {
    StreamBuilder b;
    b.header().section_full(1, "dev", 0, 1).fill(64, 0x01).footer(1).eof();
    b.vmdesc(device_vmdesc(std::string(R"({"name": "a", "type": "uint8", "size": )") + size +
                           R"(, "array_len": 1099511627776})"));
    all_readers(s, s.write(std::string("arraylen") + size + ".mig", b), {0, 5}, false,
                std::string("array_len 2^40, size ") + size);
  }
}

TEST(Hostile, JsonNesting100000) {
  Scratch s;
  std::string deep = R"({"page_size": 4096, "devices": [], "x": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
  StreamBuilder b;
  b.header().section_start(1, "ram", 0, 4).ram_mem_size({{"pc.ram", kPage}}).ram_eos().footer(1).eof();
  b.vmdesc(deep);
  const std::string file = s.write("deep.mig", b);
  all_readers(s, file, {5}, true, "vmdesc nested 100000 deep");
  CliRun r = migscope(s, "desc '" + file + "' >/dev/null");
  expect_clean(r, {5}, true, "desc of a vmdesc nested 100000 deep");
  // The checker's input: -dump-vmstate documents nested as deep.
  const std::string dump = s.write("deep.json", R"({"dev": {"Name": "dev", "version_id": 1, "minimum_version_id": 1, "Description": )" +
                                                    std::string(100000, '[') + std::string(100000, ']') + "}}");
  const std::string deep_obj = s.write("deep2.json", std::string(100000, '{'));
  CliRun c = migscope(s, "check '" + dump + "' '" + dump + "' >/dev/null");
  expect_clean(c, {3, 5}, false, "check of a dump nested 100000 deep");
  CliRun c2 = migscope(s, "check '" + deep_obj + "' '" + dump + "' >/dev/null");
  expect_clean(c2, {3, 5}, false, "check of 100000 unclosed objects");
}

TEST(Hostile, VmdescPageSize1GiBDoesNotCostAGiB) {
  Scratch s;
  StreamBuilder b;
  b.header().section_start(1, "ram", 0, 4).ram_mem_size({{"pc.ram", std::uint64_t{1} << 30}}).ram_eos().footer(1).eof();
  b.vmdesc(R"({"page_size": 1073741824, "devices": []})");
  const std::string file = s.write("pagesize.mig", b);
  // Memory must follow the input (a few hundred bytes), not the page size it claims.
  for (const char* cmd : {"info", "state", "hash -j 1"}) {
    std::string line;
#ifndef MIGSCOPE_HOSTILE_ASAN
    line = "ulimit -v 600000 && ";
#endif
    line += "exec " + test::tool_path("migscope") + " " + cmd + " '" + file + "' >/dev/null 2>'" + s.path("stderr.txt") + "'";
    std::string out;
    int st = test::run_command(line, &out);
    std::string err = test::read_file(s.path("stderr.txt"));
    EXPECT_LT(st, 128) << cmd << ": " << err;
    EXPECT_TRUE(st == 0 || st == 4 || st == 5) << cmd << ": status " << st << ": " << err;
  }
}

TEST(Hostile, HugeBlocksDoNotTakeHours) {
  Scratch s;
  // A 1 TiB block with one page sent: a few hundred bytes of input.
  auto b = ram_stream({{"pc.ram", std::uint64_t{1} << 40}}, [](StreamBuilder& w) { w.ram_page(0, "pc.ram", 1); });
  const std::string file = s.write("tib.mig", b);
  for (const char* cmd : {"info", "state -m"}) {
    CliRun r = migscope(s, std::string(cmd) + " '" + file + "' >/dev/null");
    expect_clean(r, {0, 4, 5}, false, std::string("1 TiB block: migscope ") + cmd);
  }
  CliRun r = migscope(s, "extract '" + file + "' -o '" + s.path("out") + "' >/dev/null");
  expect_clean(r, {0, 4, 5, 7}, false, "1 TiB block: migscope extract (sparse)");
  // Three 512 GiB blocks: `hash` feeds 1.5 TiB of zeros to XXH3-128 (~25 s
  // here); 65536 blocks (a 1.5 MB file) would take days. Killed after 25 s.
  auto c = ram_stream({{"b0", std::uint64_t{1} << 39}, {"b1", std::uint64_t{1} << 39}, {"b2", std::uint64_t{1} << 39}},
                      [](StreamBuilder& w) { w.ram_page(0, "b0", 1); });
  const std::string file3 = s.write("tib3.mig", c);
  CliRun h = migscope(s, "hash -j 2 '" + file3 + "' >/dev/null", 25);
  expect_clean(h, {0, 4, 5}, false, "3 x 512 GiB blocks: migscope hash");
  // Four 1 TiB blocks: the page index cannot reserve 8 GiB of address space
  // under the 4 GB limit. That is a limit of migscope on this input, not an
  // I/O error (exit 7 is documented as read/write/disk full).
  auto d = ram_stream({{"b0", std::uint64_t{1} << 40}, {"b1", std::uint64_t{1} << 40}, {"b2", std::uint64_t{1} << 40},
                       {"b3", std::uint64_t{1} << 40}},
                      [](StreamBuilder& w) { w.ram_page(0, "b0", 1); });
  const std::string file4 = s.write("tib4.mig", d);
  CliRun m = migscope(s, "state -m '" + file4 + "' >/dev/null", 25);
  expect_clean(m, {0, 4, 5}, false, "4 x 1 TiB blocks: migscope state -m");
}

TEST(Hostile, DiscardRangesOverAHugeBlock) {
  Scratch s;
  // POSTCOPY_RAM_DISCARD commands, each with 4000 ranges covering a 1 TiB
  // block: the page index walks every 512-page chunk of every range (2^19
  // per range), so 64 KB of commands cost seconds. Killed after 25 s.
  StreamBuilder b;
  b.header().section_start(1, "ram", 0, 4).ram_mem_size({{"pc.ram", std::uint64_t{1} << 40}}).ram_eos().footer(1);
  b.section_part(1).ram_page(0, "pc.ram", 1).ram_eos().footer(1);
  for (int c = 0; c < 4; ++c) {
    StreamBuilder d;
    d.u8(0).counted("pc.ram").u8(0);
    for (int i = 0; i < 4000; ++i) d.be64(0).be64(std::uint64_t{1} << 40);
    b.command_raw(6, d);
  }
  b.section_end(1).ram_eos().footer(1).eof();
  const std::string file = s.write("discard.mig", b);
  for (const char* cmd : {"info", "state -m"}) {
    CliRun r = migscope(s, std::string(cmd) + " '" + file + "' >/dev/null", 25);
    expect_clean(r, {0, 4, 5}, false, std::string("discard ranges: migscope ") + cmd);
  }
}

// A libvirt save image header (92 bytes, little-endian like an x86 host) and its data.
std::string libvirt_save(std::uint32_t data_len, std::uint32_t format, const std::string& data) {
  std::string h(92, '\0');
  std::memcpy(h.data(), "LibvirtQemudSave", 16);
  const std::uint32_t fields[5] = {2, data_len, 0, format, 0};
  std::memcpy(h.data() + 16, fields, sizeof fields);
  return h + data;
}

TEST(Hostile, LyingLibvirtWrappers) {
  Scratch s;
  const std::string xml = "<domain><name>x</name></domain>";
  auto b = ram_stream({{"pc.ram", 16 * kPage}}, [](StreamBuilder& w) { w.ram_page(0, "pc.ram", 1); });
  const std::string stream = s.write("plain.mig", b);
  ASSERT_EQ(std::system(("gzip -c '" + stream + "' > '" + s.path("plain.mig.gz") + "'").c_str()), 0);
  const std::string gz = test::read_file(s.path("plain.mig.gz"));
  struct Case {
    std::string name, bytes;
    std::initializer_list<int> allowed;
    const char* expect;
  };
  const Case cases[] = {
      {"data_len past the end", libvirt_save(0xffffffffu, 0, xml), {5}, "data_len 4294967295 runs past the end"},
      {"unknown format code", libvirt_save(static_cast<std::uint32_t>(xml.size()), 77, xml + gz), {4}, "format 77"},
      {"header says xz, data is gzip", libvirt_save(static_cast<std::uint32_t>(xml.size()), 3, xml + gz), {5}, "xz-compressed"},
      {"gzip cut in half", libvirt_save(static_cast<std::uint32_t>(xml.size()), 1, xml + gz.substr(0, gz.size() / 2)), {5}, "gzip"},
      {"gzip with a flipped byte", libvirt_save(static_cast<std::uint32_t>(xml.size()), 1, xml + gz.substr(0, 20) + "\xff" + gz.substr(21)), {5}, ""},
      {"gzip of something else", libvirt_save(static_cast<std::uint32_t>(xml.size()), 1, xml + "\x1f\x8b"), {5}, "gzip"},
      {"bare gzip cut in half", gz.substr(0, gz.size() / 2), {5}, ""},
  };
  for (const Case& c : cases) {
    const std::string file = s.write("case.save", c.bytes);
    for (const char* cmd : {"info", "state", "hash"}) {
      CliRun r = migscope(s, std::string(cmd) + " '" + file + "' >/dev/null", 25);
      expect_clean(r, c.allowed, true, c.name + ": migscope " + cmd);
      EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.name << ": " << r.err;
    }
  }
  // The same wrapper, intact, reads like the bare stream.
  const std::string good = s.write("good.save", libvirt_save(static_cast<std::uint32_t>(xml.size()), 1, xml + gz));
  CliRun direct = migscope(s, "hash '" + stream + "'");
  CliRun wrapped = migscope(s, "hash '" + good + "'");
  EXPECT_EQ(direct.status, 0) << direct.err;
  EXPECT_EQ(wrapped.status, 0) << wrapped.err;
  EXPECT_EQ(direct.out, wrapped.out);
}

// A qcow2 v3 image with 512-byte clusters and one snapshot (id "1", "s1"):
// header at 0, snapshot table at 512, the snapshot's L1 table at `l1`.
std::string qcow2_image(std::uint64_t l1, std::uint32_t l1_size, std::uint64_t vm_state_size, std::uint64_t l1_entry,
                        std::uint64_t l2_entry) {
  StreamBuilder b;
  b.raw(std::string_view("QFI\xfb", 4)).be32(3).be64(0).be32(0).be32(9).be64(0).be32(0);  // magic .. crypt_method
  b.be32(0).be64(0).be64(0).be32(0).be32(1).be64(512);                                     // l1, refcount, snapshots
  b.be64(0).be64(0).be64(0).be32(4).be32(104);                                              // features, refcount order, length
  std::string img = b.str();
  img.resize(512, '\0');
  StreamBuilder e;
  e.be64(l1).be32(l1_size).be16(1).be16(2).be32(0).be32(0).be64(0).be32(static_cast<std::uint32_t>(vm_state_size)).be32(16);
  e.be64(vm_state_size).be64(0).raw("1").raw("s1");
  img += e.str();
  img.resize(1024, '\0');
  StreamBuilder tables;  // the L1 table at 1024, an L2 table at 1536
  tables.be64(l1_entry);
  std::string t = tables.str();
  t.resize(512, '\0');
  StreamBuilder l2;
  l2.be64(l2_entry);
  std::string u = l2.str();
  u.resize(1024, '\0');  // and the data cluster at 2048, so only the lie under test is one
  return img + t + u;
}

TEST(Hostile, LyingQcow2Images) {
  Scratch s;
  struct Case {
    std::string name, bytes;
    std::initializer_list<int> allowed;
    const char* expect;
  };
  const Case cases[] = {
      {"L1 table past the end", qcow2_image(1u << 30, 1, 4096, 1536, 2048), {5}, "L1 table"},
      {"VM state of 2^62 bytes", qcow2_image(1024, 1, std::uint64_t{1} << 62, 1536, 2048), {5}, "claims a VM state"},
      {"L2 table past the end", qcow2_image(1024, 1, 4096, 1u << 30, 0), {5}, "L2 table"},
      {"cluster past the end", qcow2_image(1024, 1, 4096, 1536, 1u << 30), {5}, "data cluster at 0x40000000 runs past the end"},
      {"L2 entry pointing at the L2 table", qcow2_image(1024, 1, 512, 1536, 1536), {3}, "not a QEMU migration stream"},
      {"nothing allocated", qcow2_image(1024, 1, 4096, 0, 0), {3}, "wrong magic 0x00000000"},
      {"header cut short", std::string("QFI\xfb\0\0\0\3", 8), {5}, "header"},
  };
  for (const Case& c : cases) {
    const std::string file = s.write("case.qcow2", c.bytes);
    for (const char* cmd : {"info", "state", "hash", "snapshots"}) {
      if (std::string(cmd) == "snapshots" && c.name != "header cut short") continue;
      CliRun r = migscope(s, std::string(cmd) + " '" + file + "' >/dev/null", 25);
      expect_clean(r, c.allowed, std::string(cmd) != "snapshots" || true, c.name + ": migscope " + cmd);
      EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.name << ": " << r.err;
    }
  }
}

// libvirt's lzop format (4): lzop's own container around LZO1X blocks, read
// by core/input/lzop.cpp. Block sizes are checked before anything is
// allocated or read: a claimed 4 GiB block costs nothing.
TEST(Hostile, LyingLzopWrappers) {
  Scratch s;
  const std::string xml = "<domain><name>x</name></domain>";
  const auto data_len = static_cast<std::uint32_t>(xml.size());
  auto b = ram_stream({{"pc.ram", 16 * kPage}}, [](StreamBuilder& w) { w.ram_page(0, "pc.ram", 1); });
  const std::string stream = s.write("plain.mig", b);
  // As libvirt runs it: from a pipe, so the header has no name (38 bytes).
  ASSERT_EQ(std::system(("lzop -c < '" + stream + "' > '" + s.path("plain.mig.lzo") + "'").c_str()), 0)
      << "lzop missing (scripts/install-deps.sh installs it)";
  const std::string lzo = test::read_file(s.path("plain.mig.lzo"));
  constexpr std::size_t kBlock = 38;  // the first block header
  ASSERT_GT(lzo.size(), kBlock + 12);
  auto with_be32 = [&](std::size_t at, std::uint32_t v) {
    std::string t = lzo;
    for (int i = 0; i < 4; ++i) t[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
    return t;
  };
  std::string flipped_sum = lzo;
  flipped_sum[kBlock + 8] ^= 0x01;
  struct Case {
    std::string name, bytes;
    const char* expect;
  };
  const Case cases[] = {
      {"lzop cut in half", libvirt_save(data_len, 4, xml + lzo.substr(0, lzo.size() / 2)), "lzop block 1"},
      {"lzop cut inside its header", libvirt_save(data_len, 4, xml + lzo.substr(0, 20)), "lzop header"},
      {"lzop cut before its end marker", libvirt_save(data_len, 4, xml + lzo.substr(0, lzo.size() - 4)), "lzop block 2"},
      {"lzop block claiming 4 GiB", libvirt_save(data_len, 4, xml + with_be32(kBlock, 0xfffffff0u)), "64 MiB"},
      {"lzop block size 0xffffffff", libvirt_save(data_len, 4, xml + with_be32(kBlock, 0xffffffffu)), "0xffffffff"},
      {"lzop block claiming 64 MiB", libvirt_save(data_len, 4, xml + with_be32(kBlock, 64u << 20)), "lzop block 1"},
      {"lzop compressed size 4 GiB", libvirt_save(data_len, 4, xml + with_be32(kBlock + 4, 0xffffffffu)), "compressed size"},
      {"lzop with a flipped checksum", libvirt_save(data_len, 4, xml + flipped_sum), "Adler-32"},
      {"bare lzop cut in half", lzo.substr(0, lzo.size() / 2), "lzop block 1"},
  };
  for (const Case& c : cases) {
    const std::string file = s.write("case.save", c.bytes);
    for (const char* cmd : {"info", "state", "hash"}) {
      CliRun r = migscope(s, std::string(cmd) + " '" + file + "' >/dev/null", 25);
      expect_clean(r, {5}, true, c.name + ": migscope " + cmd);
      EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.name << ": " << r.err;
    }
  }
  const std::string good = s.write("good.save", libvirt_save(data_len, 4, xml + lzo));
  CliRun direct = migscope(s, "hash '" + stream + "'");
  CliRun wrapped = migscope(s, "hash '" + good + "'");
  EXPECT_EQ(direct.status, 0) << direct.err;
  EXPECT_EQ(wrapped.status, 0) << wrapped.err;
  EXPECT_EQ(direct.out, wrapped.out);
}

TEST(Hostile, TerminalEscapesInNamesAreNotPrinted) {
  Scratch s;
  const std::string evil = "\x1b]0;owned\x07\x1b[2J";
  auto b = ram_stream({{evil, kPage}}, [&](StreamBuilder& w) { w.ram_page(8 * kPage, evil, 1); });
  const std::string file = s.write("esc.mig", b);
  for (const char* cmd : {"info", "state", "hash"}) {
    CliRun r = migscope(s, std::string(cmd) + " '" + file + "'");
    expect_clean(r, {5}, true, std::string("escape sequences in a block name: ") + cmd);
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << cmd << ": raw ESC on stdout";
  }
  auto c = ram_stream({{evil, kPage}}, [&](StreamBuilder& w) { w.ram_page(0, evil, 1); });
  const std::string file2 = s.write("esc2.mig", c);
  for (const char* cmd : {"info", "hash"}) {
    CliRun r = migscope(s, std::string(cmd) + " '" + file2 + "'");
    expect_clean(r, {0}, false, std::string("escape sequences in a block name: ") + cmd);
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << cmd << ": raw ESC on stdout";
  }
  CliRun r = migscope(s, "extract '" + file2 + "' -o '" + s.path("out") + "'");
  expect_clean(r, {0}, false, "escape sequences in a block name: extract");
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "extract: raw ESC on stdout";
}

}  // namespace
}  // namespace migscope
