// RAM over the real corpus: extracted blocks equal upstream -x output (sha256
// goldens) and, for streams upstream cannot read (xbzrle, compress), the RAM a
// real destination QEMU ended up with (ram-oracle goldens); `hash` agrees with
// hashing the extracted files and does not depend on the thread count.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <sys/mman.h>
#include <unistd.h>

#include <rapidjson/document.h>
#include <xxhash.h>

#include "sinks/output_dir.h"
#include "test_paths.h"

namespace fs = std::filesystem;

namespace migscope::test {
namespace {

struct Stream {
  std::string name, path, golden_dir;
};

std::vector<Stream> streams_with(const std::string& kind) {
  std::vector<Stream> out;
  const fs::path built = fs::path(binary_dir()) / "corpus";
  if (!fs::exists(built)) return out;
  for (const auto& dir : fs::directory_iterator(built)) {
    std::string d = dir.path().filename().string();
    if (d.rfind("streams", 0) != 0) continue;
    std::string golden_dir = "golden" + d.substr(7);
    for (const auto& f : fs::directory_iterator(dir.path())) {
      if (f.path().extension() != ".mig") continue;
      std::string name = f.path().stem().string();
      if (fs::exists(fs::path(corpus_dir()) / golden_dir / (name + "." + kind)))
        out.push_back({name, f.path().string(), golden_dir});
    }
  }
  std::sort(out.begin(), out.end(), [](const Stream& a, const Stream& b) { return a.name < b.name; });
  return out;
}

// "<sha256>  <block name>" lines.
std::map<std::string, std::string> read_sums(const fs::path& p) {
  std::map<std::string, std::string> m;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() < 67) continue;
    m[line.substr(66)] = line.substr(0, 64);
  }
  return m;
}

std::string sha256(const fs::path& p) {
  std::string out;
  run_command("sha256sum < '" + p.string() + "'", &out);
  return out.substr(0, 64);
}

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("migscope-ram-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

int extract(const Stream& s, const fs::path& dir, int threads, std::string* out) {
  // Appended piece by piece: GCC 12 warns (-Wrestrict, falsely) on "'" + std::string&&.
  std::string cmd = "'";
  cmd += tool_path("migscope");
  cmd += "' extract -j " + std::to_string(threads) + " -o '" + dir.string() + "' '" + s.path + "'";
  return run_command(cmd, out, true);
}

void check_against(const Stream& s, const std::string& kind) {
  SCOPED_TRACE(s.name + " " + kind);
  TempDir tmp;
  std::string out;
  ASSERT_EQ(extract(s, tmp.path(), 2, &out), 0) << out;
  auto sums = read_sums(fs::path(corpus_dir()) / s.golden_dir / (s.name + "." + kind));
  ASSERT_FALSE(sums.empty());
  for (const auto& [block, digest] : sums) {
    fs::path file = tmp.path() / safe_relative_path(block);
    ASSERT_TRUE(fs::exists(file)) << block;
    EXPECT_EQ(sha256(file), digest) << block;
  }
}

TEST(RamCorpus, ExtractEqualsUpstreamExtract) {
  auto list = streams_with("extract.sha256");
  if (list.empty()) GTEST_SKIP() << "no corpus in the build tree";
  for (const auto& s : list) check_against(s, "extract.sha256");
}

TEST(RamCorpus, ExtractEqualsWhatARealDestinationLoaded) {
  auto list = streams_with("ram-oracle.sha256");
  if (list.empty()) GTEST_SKIP() << "no corpus in the build tree";
  // The oracles are the streams upstream cannot read: xbzrle and zlib pages.
  bool saw_xbzrle = false;
  for (const auto& s : list) {
    saw_xbzrle |= s.name.find("xbzrle") != std::string::npos;
    check_against(s, "ram-oracle.sha256");
  }
  EXPECT_TRUE(saw_xbzrle);
}

XXH128_hash_t xxh128_of_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  XXH3_state_t* st = XXH3_createState();
  XXH3_128bits_reset(st);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    XXH3_128bits_update(st, buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  XXH128_hash_t h = XXH3_128bits_digest(st);
  XXH3_freeState(st);
  return h;
}

TEST(RamCorpus, HashAgreesWithExtractedFilesAtEveryThreadCount) {
  auto list = streams_with("desc.json");
  if (list.empty()) GTEST_SKIP() << "no corpus in the build tree";
  int checked = 0;
  for (const auto& s : list) {
    if (s.name.find("xbzrle") == std::string::npos && s.name.find("compress") == std::string::npos &&
        s.name.find("mapped-ram") == std::string::npos && s.name != "x86_64-q35-7.2")
      continue;
    SCOPED_TRACE(s.name);
    std::string h1, h2, h8;
    std::string tool = "'";
    tool += tool_path("migscope");
    tool += "' hash '" + s.path + "' -j ";
    ASSERT_EQ(run_command(tool + "1", &h1), 0);
    ASSERT_EQ(run_command(tool + "2", &h2), 0);
    ASSERT_EQ(run_command(tool + "8", &h8), 0);
    EXPECT_EQ(h1, h2);
    EXPECT_EQ(h1, h8);

    TempDir tmp;
    std::string out;
    ASSERT_EQ(extract(s, tmp.path(), 1, &out), 0) << out;
    std::istringstream lines(h1);
    std::string line;
    int summaries = 0, pages = 0;
    while (std::getline(lines, line)) {
      rapidjson::Document d;
      d.Parse(line.c_str());
      ASSERT_FALSE(d.HasParseError()) << line;
      fs::path file = tmp.path() / safe_relative_path(d["block"].GetString());
      if (d.HasMember("block_xxh128")) {
        ++summaries;
        XXH128_hash_t h = xxh128_of_file(file);
        char hex[40];
        std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                      static_cast<unsigned long long>(h.low64));
        EXPECT_EQ(d["block_xxh128"].GetString(), std::string(hex)) << line;
        EXPECT_EQ(d["length"].GetUint64(), fs::file_size(file));
      } else if (pages++ % 97 == 0) {
        // Spot-check page hashes against the extracted bytes.
        std::ifstream in(file, std::ios::binary);
        std::vector<char> page(4096);
        in.seekg(static_cast<std::streamoff>(d["offset"].GetUint64()));
        in.read(page.data(), 4096);
        char hex[20];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits(page.data(), 4096)));
        EXPECT_EQ(d["xxh3"].GetString(), std::string(hex)) << line;
      }
    }
    EXPECT_GT(summaries, 0);
    ++checked;
  }
  EXPECT_GE(checked, 3);
}

}  // namespace
}  // namespace migscope::test
