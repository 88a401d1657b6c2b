// ops::diff on real saves (corpus/diff: one guest saved twice, seconds apart;
// corpus/wrapped: the same save in every container): RAM ranges must equal
// what comparing the two `hash` outputs gives, a dump equals itself and its
// own state JSON, every container equals its bare stream.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <unistd.h>
#include <xxhash.h>

#include "migscope/ops.h"
#include "test_paths.h"

namespace migscope {
namespace {

namespace fs = std::filesystem;

std::string corpus(const std::string& rel) { return (fs::path(test::binary_dir()) / "corpus" / rel).string(); }

Dump open_or_die(const std::string& path, const std::string& snapshot = {}) {
  auto d = Dump::open(path, OpenOptions{{}, snapshot});
  if (!d.ok()) ADD_FAILURE() << path << ": " << d.error().message();
  return std::move(d).value();
}

diff::DiffReport run_diff(const Dump& a, const Dump& b, ops::DiffOptions o = {}) {
  ops::DiffInput ia{&a, {}, a.path()}, ib{&b, {}, b.path()};
  auto r = ops::diff(ia, ib, o);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
  return r.ok() ? std::move(r).value() : diff::DiffReport{};
}

std::string render(const diff::DiffReport& r, diff::DiffFormat f) {
  std::string out;
  diff::render_diff(r, f, [&](std::string_view s) { out += s; });
  return out;
}

// block -> offset -> xxh3, from `hash`'s page lines.
std::map<std::string, std::map<std::uint64_t, std::string>> hash_pages(const Dump& d) {
  std::string text;
  auto r = ops::hash(d, {}, ops::TextOutput::to_string(text));
  EXPECT_TRUE(r.ok());
  std::map<std::string, std::map<std::uint64_t, std::string>> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    if (!doc.HasMember("xxh3")) continue;
    out[doc["block"].GetString()][doc["offset"].GetUint64()] = doc["xxh3"].GetString();
  }
  return out;
}

TEST(Diff, RamRangesOfTwoSavesEqualWhatTheirHashOutputsGive) {
  for (const char* pair : {"running", "smp"}) {
    SCOPED_TRACE(pair);
    Dump a = open_or_die(corpus(std::string("diff/") + pair + "-1.mig"));
    Dump b = open_or_die(corpus(std::string("diff/") + pair + "-2.mig"));
    ops::DiffOptions o;
    o.pages = true;
    const auto report = run_diff(a, b, o);
    ASSERT_TRUE(report.ram_compared);
    // The hash outputs, compared page by page: a page is different when its
    // hashes differ, or when it is sent (non-zero) on one side only.
    const auto ha = hash_pages(a), hb = hash_pages(b);
    // A page of zeros hashes like a page not sent: both read as zero on a destination.
    const std::vector<char> zeros(report.page_size, 0);
    char zero[17];
    std::snprintf(zero, sizeof zero, "%016llx", static_cast<unsigned long long>(XXH3_64bits(zeros.data(), zeros.size())));
    auto content = [&](const std::map<std::string, std::map<std::uint64_t, std::string>>& side, const std::string& block,
                       std::uint64_t off) -> std::string {
      auto it = side.find(block);
      if (it == side.end() || !it->second.count(off)) return zero;
      return it->second.at(off);
    };
    std::map<std::string, std::vector<std::uint64_t>> want;
    for (const auto& side : {&ha, &hb})
      for (const auto& [block, pages] : *side)
        for (const auto& page : pages)
          if (content(ha, block, page.first) != content(hb, block, page.first)) want[block].push_back(page.first);
    for (auto& [block, v] : want) {
      std::sort(v.begin(), v.end());
      v.erase(std::unique(v.begin(), v.end()), v.end());
    }
    std::map<std::string, std::vector<std::uint64_t>> got;
    std::uint64_t in_ranges = 0;
    for (const auto& blk : report.blocks) {
      for (const auto& p : blk.pages) got[blk.name].push_back(p.offset);
      for (const auto& r : blk.ranges) {
        in_ranges += r.pages;
        EXPECT_EQ(r.end - r.start, r.pages * report.page_size);
      }
    }
    EXPECT_EQ(got, want);
    EXPECT_EQ(in_ranges, report.pages_differ());
    EXPECT_EQ(report.pages_differ(), 52u);  // corpus/diff/ram-oracle.tsv: QEMU's own pmemsave says 52
    // The guest's loop counter (EBX) moved; the clocks are ignored by default.
    bool ebx = false;
    for (const auto& d : report.differences) {
      ebx = ebx || d.path == "cpu (5)/env.regs[3]";
      EXPECT_EQ(d.path.find("timer ("), std::string::npos) << d.path;
    }
    EXPECT_TRUE(ebx);
    EXPECT_GT(report.ignored, 0u);
    EXPECT_FALSE(report.identical());
  }
}

TEST(Diff, TheDefaultIgnoresAreExactlyWhatTurnsUpInTheClocks) {
  Dump a = open_or_die(corpus("diff/running-1.mig"));
  Dump b = open_or_die(corpus("diff/running-2.mig"));
  ops::DiffOptions all;
  all.default_ignores = false;
  const auto full = run_diff(a, b, all);
  const auto dflt = run_diff(a, b);
  EXPECT_EQ(full.differences.size(), dflt.differences.size() + dflt.ignored);
  EXPECT_EQ(full.ignored, 0u);
}

TEST(Diff, ADumpEqualsItselfWithOnlyTheSummaryLine) {
  Dump a = open_or_die(corpus("streams/x86_64-q35-7.2-devices.mig"));
  Dump b = open_or_die(corpus("streams/x86_64-q35-7.2-devices.mig"));
  const auto r = run_diff(a, b);
  EXPECT_TRUE(r.identical());
  EXPECT_FALSE(r.descriptions_differ);
  EXPECT_GT(r.sections_matched, 30u);
  const std::string text = render(r, diff::DiffFormat::text);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_NE(text.find("are identical"), std::string::npos);
  const std::string jsonl = render(r, diff::DiffFormat::jsonl);
  EXPECT_EQ(std::count(jsonl.begin(), jsonl.end(), '\n'), 1) << jsonl;
}

TEST(Diff, ADumpEqualsTheStateJsonWrittenFromIt) {
  Dump d = open_or_die(corpus("diff/paused-1.mig"));
  std::string state;
  ASSERT_TRUE(ops::state(d, {}, ops::TextOutput::to_string(state)).ok());
  ops::DiffInput ia{&d, {}, "paused-1.mig"}, ib{nullptr, state, "paused-1.state.json"};
  auto r = ops::diff(ia, ib, {});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->identical());
  EXPECT_FALSE(r->ram_compared);
  EXPECT_TRUE(r->b_is_state);
  // And the other save of that guest differs from it in one field only.
  Dump d2 = open_or_die(corpus("diff/paused-2.mig"));
  ops::DiffInput i2{&d2, {}, "paused-2.mig"};
  auto r2 = ops::diff(ib, i2, {});
  ASSERT_TRUE(r2.ok());
  ASSERT_EQ(r2->differences.size(), 1u);
  EXPECT_EQ(r2->differences[0].path, "cpu_common (4)/interrupt_request");
}

TEST(Diff, EveryContainerEqualsTheBareStreamInside) {
  const fs::path dir = corpus("wrapped");
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.find(".stream.mig") != std::string::npos || name.find(".qcow2") != std::string::npos) continue;
    std::string base = name.substr(0, name.find('.'));
    const fs::path stream = dir / (base + ".stream.mig");
    if (!fs::exists(stream)) continue;
    SCOPED_TRACE(name);
    Dump a = open_or_die(e.path().string());
    Dump b = open_or_die(stream.string());
    const auto r = run_diff(a, b);
    EXPECT_TRUE(r.identical()) << render(r, diff::DiffFormat::text);
    EXPECT_TRUE(r.ram_compared);
    ++n;
  }
  EXPECT_GE(n, 10u);
  // A qcow2 image's two snapshots: each equals its stream, and they differ from each other.
  Dump s1 = open_or_die(corpus("wrapped/q35-2snaps.qcow2"), "s1");
  Dump s1_stream = open_or_die(corpus("wrapped/q35-2snaps.s1.stream.mig"));
  EXPECT_TRUE(run_diff(s1, s1_stream).identical());
  Dump s2 = open_or_die(corpus("wrapped/q35-2snaps.qcow2"), "s2");
  EXPECT_FALSE(run_diff(s1, s2).identical());
}

TEST(Diff, ReportsDifferentDevicesAndDescriptionsFirst) {
  Dump a = open_or_die(corpus("diff/smp-1.mig"));
  Dump b = open_or_die(corpus("diff/running-1.mig"));
  const auto r = run_diff(a, b);
  EXPECT_TRUE(r.descriptions_differ);
  EXPECT_FALSE(r.description_notes.empty());
  std::size_t only_a = 0;
  for (const auto& d : r.differences)
    if (d.kind == diff::DiffKind::section_only_a) ++only_a;
  EXPECT_EQ(only_a, 3u);  // the second CPU: cpu_common, cpu, apic
  const std::string text = render(r, diff::DiffFormat::text);
  EXPECT_LT(text.find("descriptions differ"), text.find("section only in A"));
  // JSON: one document; JSONL: every line an object with a kind.
  rapidjson::Document doc;
  doc.Parse(render(r, diff::DiffFormat::json).c_str());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_STREQ(doc["schema"].GetString(), "migscope-diff/1");
  EXPECT_EQ(doc["differences"].Size(), r.differences.size());
  std::istringstream lines(render(r, diff::DiffFormat::jsonl));
  std::string line;
  std::size_t count = 0;
  while (std::getline(lines, line)) {
    rapidjson::Document l;
    l.Parse(line.c_str());
    ASSERT_FALSE(l.HasParseError()) << line;
    ASSERT_TRUE(l.HasMember("kind")) << line;
    if (count == 0) {
      EXPECT_STREQ(l["kind"].GetString(), "summary");
    }
    ++count;
  }
  EXPECT_GT(count, r.differences.size());
}

TEST(Diff, TheTwoDumpsMayBeReadOneAfterTheOtherWithTheSameResult) {
  Dump a = open_or_die(corpus("diff/running-1.mig"));
  Dump b = open_or_die(corpus("diff/running-2.mig"));
  ops::DiffOptions seq;
  seq.parallel = false;
  seq.threads = 2;
  EXPECT_EQ(render(run_diff(a, b, seq), diff::DiffFormat::json), render(run_diff(a, b), diff::DiffFormat::json));
}

TEST(Diff, ATruncatedDumpIsAnErrorNamingIt) {
  const std::string whole = test::read_file(corpus("diff/running-1.mig"));
  const fs::path cut = fs::temp_directory_path() / ("migscope-diff-cut-" + std::to_string(::getpid()) + ".mig");
  {
    std::FILE* f = std::fopen(cut.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(whole.data(), 1, whole.size() / 2, f);
    std::fclose(f);
  }
  Dump a = open_or_die(corpus("diff/running-1.mig"));
  auto b = Dump::open(cut.string());
  ASSERT_TRUE(b.ok());
  ops::DiffInput ia{&a, {}, "whole"}, ib{&*b, {}, "cut"};
  std::string failed;
  auto r = ops::diff(ia, ib, {}, &failed);
  fs::remove(cut);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(failed, "cut");
  EXPECT_EQ(r.error().code, ErrorCode::truncated);
  EXPECT_TRUE(r.error().has_offset());
}

TEST(Diff, TextOutputShowsControlBytesOfTheInputsEscaped) {
  // fuzz_diff (regressions/diff-text-control.bin): a field named with an ESC
  // sequence reached the terminal as is, and a newline in it split a line.
  diff::DiffReport r;
  r.a_name = "a.json";
  r.b_name = "b\x1b[2Jb.json";
  diff::Difference d;
  d.kind = diff::DiffKind::field;
  d.path = "dev/x\x1b[31m\nforged line";
  d.a = "1";
  d.b = "\x07";
  r.differences.push_back(d);
  const std::string text = render(r, diff::DiffFormat::text);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_EQ(text.find('\x07'), std::string::npos) << text;
  EXPECT_NE(text.find("dev/x\\x1b[31m\\x0aforged line: 1 -> \\x07"), std::string::npos) << text;
  EXPECT_NE(text.find("b\\x1b[2Jb.json"), std::string::npos) << text;
}

}  // namespace
}  // namespace migscope
