// report (core/ops/report.cpp, sinks/page_map): the page names every section
// and block, a libvirt save's domain; its page maps agree with info's record
// counts and decode cell by cell; a 64 GiB block with a few pages makes a
// small page; the output is refused when it exists (unless force), and a
// truncated input leaves no file; nothing from the input reaches the page
// unescaped.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include "json/escape.h"
#include "migscope/ops.h"
#include "stream_builder.h"
#include "test_paths.h"

namespace migscope {
namespace {

namespace fs = std::filesystem;
using test::StreamBuilder;

std::string corpus(const std::string& rel) { return test::binary_dir() + "/corpus/" + rel; }

Dump open_or_die(const std::string& path) {
  auto d = Dump::open(path);
  EXPECT_TRUE(d.ok()) << path << ": " << (d.ok() ? "" : d.error().message());
  return std::move(d).value();
}

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("migscope-report-test-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string out(const std::string& name = "report.html") const { return (dir_ / name).string(); }
  std::vector<std::string> files() const {
    std::vector<std::string> v;
    for (const auto& e : fs::directory_iterator(dir_)) v.push_back(e.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
  }
  std::string write_stream(const StreamBuilder& b, const std::string& name = "synthetic.mig") const {
    const std::string path = out(name);
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(b.bytes().data()), static_cast<std::streamsize>(b.size()));
    return path;
  }
  fs::path dir_;
};

// What a string from the input looks like in the page's data: a JSON string, '<' as \u003c.
std::string in_data(std::string_view s) {
  std::string j, out;
  json::append_json_string(j, s);
  for (char c : j) out += c == '<' ? std::string("\\u003c") : std::string(1, c);
  return out;
}

std::string script_text(const std::string& html, const std::string& id) {
  const std::string open = "id=\"" + id + "\"";
  std::size_t at = html.find(open);
  if (at == std::string::npos) return {};
  at = html.find('>', at) + 1;
  return html.substr(at, html.find("</script>", at) - at);
}

std::vector<std::uint8_t> unbase64(std::string_view s) {
  std::vector<std::uint8_t> out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else continue;  // '=' padding
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(acc >> bits));
    }
  }
  return out;
}

// The report of `path`, read back.
struct Written {
  ops::HtmlReport report;
  std::string html;
  rapidjson::Document data;
};

Written make_report(const Dump& dump, const std::string& output) {
  Written w;
  ops::ReportOptions options;
  options.output = output;
  auto r = ops::report(dump, options);
  EXPECT_TRUE(r.ok()) << dump.path() << ": " << (r.ok() ? "" : r.error().message());
  if (!r.ok()) return w;
  w.report = std::move(r).value();
  w.html = test::read_file(output);
  EXPECT_EQ(w.html.size(), w.report.html_bytes);
  const std::string data = script_text(w.html, "migscope-data");
  w.data.Parse(data.c_str(), data.size());
  EXPECT_FALSE(w.data.HasParseError()) << dump.path();
  return w;
}

TEST_F(ReportTest, NamesEverySectionAndBlockOfEveryCorpusStream) {
  std::size_t streams = 0;
  for (const auto& e : fs::directory_iterator(corpus("streams"))) {
    if (e.path().extension() != ".mig") continue;
    SCOPED_TRACE(e.path().filename().string());
    ++streams;
    Dump dump = open_or_die(e.path().string());
    const ops::InfoReport info = ops::info(dump);
    ASSERT_FALSE(info.damage) << info.damage->message();
    Written w = make_report(dump, out());
    ASSERT_FALSE(w.html.empty());
    EXPECT_EQ(w.html.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_NE(w.html.find("</html>"), std::string::npos);
    EXPECT_EQ(w.html.find("<!--@"), std::string::npos);  // every part of the template filled
    EXPECT_EQ(w.html.find("http://"), w.html.find("http://www.w3.org/2000/svg"));  // no external reference
    EXPECT_EQ(w.html.find("https://"), std::string::npos);
    EXPECT_EQ(w.report.sections, info.sections.size());
    for (const SectionRecord& s : info.sections) EXPECT_NE(w.html.find(in_data(s.idstr)), std::string::npos) << s.idstr;
    ASSERT_EQ(w.report.blocks.size(), info.summary.ram_blocks.size());
    for (const RamBlock& b : info.summary.ram_blocks) EXPECT_NE(w.html.find(in_data(b.name)), std::string::npos) << b.name;
    EXPECT_FALSE(script_text(w.html, "migscope-state").empty());
    EXPECT_LT(w.html.size(), 1u << 20);
    fs::remove(out());
  }
  EXPECT_GE(streams, 20u);
}

TEST_F(ReportTest, ALibvirtSaveShowsItsDomain) {
  Dump dump = open_or_die(corpus("wrapped/pc-gzip.save"));
  Written w = make_report(dump, out());
  EXPECT_NE(w.html.find("<section id=\"domain\">"), std::string::npos);
  EXPECT_NE(w.html.find("mig-pc-gzip"), std::string::npos);
  EXPECT_NE(w.html.find("6d1f3c5e-0b2a-4c1e-9f00-000000000102"), std::string::npos);
  EXPECT_NE(w.html.find("pc-i440fx-7.2"), std::string::npos);
  EXPECT_NE(w.html.find("&lt;domain type=&apos;qemu&apos;&gt;"), std::string::npos);  // the XML, escaped
  EXPECT_NE(w.html.find("gzip-compressed"), std::string::npos);
  // A bare stream has no domain section.
  Dump bare = open_or_die(corpus("streams/x86_64-q35-7.2.mig"));
  Written b = make_report(bare, out("bare.html"));
  EXPECT_EQ(b.html.find("<section id=\"domain\">"), std::string::npos);
}

// Every page sent once (a paused guest's dump): the page classes are the record kinds.
TEST_F(ReportTest, PageMapsAgreeWithInfoAndDecodeCellByCell) {
  for (const char* name : {"x86_64-q35-7.2.mig", "x86_64-q35-7.2-devices.mig", "x86_64-q35-7.2-xbzrle.mig",
                           "x86_64-q35-7.2-compress.mig", "x86_64-q35-7.2-x-ignore-shared.mig"}) {
    SCOPED_TRACE(name);
    Dump dump = open_or_die(corpus(std::string("streams/") + name));
    const ops::InfoReport info = ops::info(dump);
    Written w = make_report(dump, out());
    ASSERT_TRUE(w.data.IsObject());
    const auto& blocks = w.data["blocks"];
    ASSERT_EQ(blocks.Size(), info.block_stats.size());
    const bool once = std::string(name) != "x86_64-q35-7.2-xbzrle.mig";
    for (rapidjson::SizeType i = 0; i < blocks.Size(); ++i) {
      const auto& b = blocks[i];
      const BlockPageStats& st = info.block_stats[i];
      const BlockPageMap& m = w.report.blocks[i];
      SCOPED_TRACE(m.name);
      EXPECT_EQ(std::string(b["name"].GetString()), m.name);
      const std::uint64_t pages = b["pages"].GetUint64(), per_cell = b["per_cell"].GetUint64();
      EXPECT_EQ(pages, info.summary.ram_blocks[i].length / info.summary.page_size);
      std::uint64_t counts[kPageClasses], total = 0;
      for (std::size_t k = 0; k < kPageClasses; ++k) {
        counts[k] = b["counts"][static_cast<rapidjson::SizeType>(k)].GetUint64();
        EXPECT_EQ(counts[k], m.pages_by_class[k]);
        total += counts[k];
      }
      EXPECT_EQ(total, pages);
      const auto zero = static_cast<std::size_t>(PageClass::zero), data = static_cast<std::size_t>(PageClass::data);
      std::uint64_t records = 0;
      for (std::uint64_t r : st.records) records += r;
      if (once) {
        EXPECT_EQ(counts[zero], st.records[0] - st.nonzero_fill);
        EXPECT_EQ(counts[data], st.records[1] + st.records[4] + st.nonzero_fill);
        EXPECT_EQ(counts[static_cast<std::size_t>(PageClass::compressed)], st.records[3]);
        EXPECT_EQ(counts[static_cast<std::size_t>(PageClass::resent)], 0u);
        EXPECT_EQ(pages - counts[0], records);
      } else {
        EXPECT_LE(pages - counts[0], records);  // pages sent, each at least once
        EXPECT_LE(counts[static_cast<std::size_t>(PageClass::xbzrle)], st.records[2]);
      }
      // The cells, as the page's script reads them.
      const std::vector<std::uint8_t> cells = unbase64(b["cells"].GetString());
      ASSERT_EQ(cells.size() % 2, 0u);
      const std::uint64_t ncells = cells.size() / 2;
      ASSERT_LE(ncells, 4096u);
      if (pages == 0) continue;
      EXPECT_EQ(ncells, (pages + per_cell - 1) / per_cell);
      EXPECT_EQ(per_cell, (pages + 4095) / 4096);
      std::uint64_t by_first[kPageClasses] = {};
      for (std::uint64_t c = 0; c < ncells; ++c) {
        const unsigned first = cells[2 * c] & 15, share = cells[2 * c + 1];
        ASSERT_LT(first, kPageClasses);
        EXPECT_EQ(first == 0, share == 0);
        ++by_first[first];
      }
      if (per_cell == 1) {  // one page per cell: the cells are the pages
        for (std::size_t k = 0; k < kPageClasses; ++k) EXPECT_EQ(by_first[k], counts[k]) << page_class_name(static_cast<PageClass>(k));
      }
    }
    fs::remove(out());
  }
}

// A 64 GiB block with a handful of pages, a second tiny block.
StreamBuilder huge_block_stream() {
  constexpr std::uint64_t GiB = 1ull << 30, P = StreamBuilder::kPage;
  StreamBuilder b;
  b.header().configuration("pc-q35-7.2");
  b.section_start(2, "ram", 0, 4).ram_mem_size({{"pc.ram", 64 * GiB}, {"tiny", 4 * P}}).ram_eos().footer(2);
  b.section_part(2);
  b.ram_page(0, "pc.ram").ram_zero(P, "");
  b.ram_page(32 * GiB, "pc.ram").ram_page(32 * GiB, "");  // re-sent
  b.ram_page(64 * GiB - P, "pc.ram");
  b.ram_page(2 * P, "tiny");
  b.ram_eos().footer(2);
  b.section_end(2).ram_eos().footer(2).eof();
  return b;
}

TEST_F(ReportTest, AHugeBlockWithFewPagesMakesASmallPage) {
  const std::string stream = write_stream(huge_block_stream());
  Dump dump = open_or_die(stream);
  Written w = make_report(dump, out());
  EXPECT_LT(w.html.size(), 1u << 20);
  std::printf("report of a 64 GiB block: %zu bytes of HTML\n", w.html.size());
  ASSERT_EQ(w.report.blocks.size(), 2u);
  const BlockPageMap& big = w.report.blocks[0];
  EXPECT_EQ(big.pages, 16u << 20);
  EXPECT_EQ(big.pages_per_cell, 4096u);
  EXPECT_EQ(big.cell_count(), 4096u);
  EXPECT_EQ(big.pages_by_class[static_cast<std::size_t>(PageClass::data)], 2u);
  EXPECT_EQ(big.pages_by_class[static_cast<std::size_t>(PageClass::zero)], 1u);
  EXPECT_EQ(big.pages_by_class[static_cast<std::size_t>(PageClass::resent)], 1u);
  EXPECT_EQ(big.pages_by_class[0], (16u << 20) - 4);
  // Cell 0 holds pages 0 (data) and 1 (zero): a tie, the lower class first, the other second.
  EXPECT_EQ(big.cells[0], static_cast<std::uint8_t>(PageClass::zero) | static_cast<std::uint8_t>(PageClass::data) << 4);
  EXPECT_EQ(big.cells[1], 1);  // 2 of 4096 pages sent: the least visible share
  EXPECT_EQ(big.cells[2 * 2048], static_cast<std::uint8_t>(PageClass::resent));
  EXPECT_EQ(big.cells[2 * 4095], static_cast<std::uint8_t>(PageClass::data));
  EXPECT_EQ(big.cells[2 * 1], 0);  // nothing sent
  const BlockPageMap& tiny = w.report.blocks[1];
  EXPECT_EQ(tiny.pages_per_cell, 1u);
  ASSERT_EQ(tiny.cell_count(), 4u);
  EXPECT_EQ(tiny.cells[4], static_cast<std::uint8_t>(PageClass::data));
  EXPECT_EQ(tiny.cells[5], 255);
}

TEST_F(ReportTest, InputTextIsEscapedForHtmlAndScripts) {
  constexpr std::uint64_t P = StreamBuilder::kPage;
  StreamBuilder b;
  b.header().configuration("pc</script><b>m");
  b.section_start(2, "ram", 0, 4).ram_mem_size({{"</script><b>x&y", 2 * P}}).ram_eos().footer(2);
  b.section_part(2).ram_page(0, "</script><b>x&y").ram_eos().footer(2);
  b.section_end(2).ram_eos().footer(2);
  b.section_full(3, "dev<!--</script>", 0, 1).footer(3).eof();
  const std::string stream = write_stream(b);
  auto dump = Dump::open(stream);
  ASSERT_TRUE(dump.ok()) << dump.error().message();
  ops::ReportOptions options;
  options.output = out();
  options.title = "<i>title</i>";
  auto r = ops::report(*dump, options);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const std::string html = test::read_file(out());
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_EQ(html.find("<i>"), std::string::npos);
  EXPECT_EQ(html.find("dev<!--"), std::string::npos);
  EXPECT_NE(html.find("&lt;i&gt;title&lt;/i&gt;"), std::string::npos);
  EXPECT_NE(html.find("pc&lt;/script&gt;&lt;b&gt;m"), std::string::npos);
  EXPECT_NE(html.find("\\u003c/script>\\u003cb>x&y"), std::string::npos);
  // Only the page's own three scripts end.
  std::size_t ends = 0;
  for (std::size_t at = html.find("</script"); at != std::string::npos; at = html.find("</script", at + 1)) ++ends;
  EXPECT_EQ(ends, 3u);
}

TEST_F(ReportTest, AnExistingOutputIsKeptUnlessForced) {
  { std::ofstream(out()) << "keep me"; }
  Dump dump = open_or_die(corpus("streams/x86_64-q35-7.2.mig"));
  ops::ReportOptions options;
  options.output = out();
  auto refused = ops::report(dump, options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::output_refused);
  EXPECT_EQ(refused.error().remedy, Remedy::allow_overwrite);
  EXPECT_EQ(test::read_file(out()), "keep me");
  EXPECT_EQ(files(), std::vector<std::string>{"report.html"});
  options.force = true;
  auto forced = ops::report(dump, options);
  ASSERT_TRUE(forced.ok()) << forced.error().message();
  EXPECT_EQ(test::read_file(out()).rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(files(), std::vector<std::string>{"report.html"});
}

TEST_F(ReportTest, ATruncatedInputLeavesNoFile) {
  const std::string whole = test::read_file(corpus("streams/x86_64-q35-7.2.mig"));
  const std::string cut = out("cut.mig");
  { std::ofstream(cut, std::ios::binary) << whole.substr(0, whole.size() / 2); }
  Dump dump = open_or_die(cut);
  ops::ReportOptions options;
  options.output = out();
  auto r = ops::report(dump, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::truncated) << r.error().message();
  EXPECT_EQ(files(), std::vector<std::string>{"cut.mig"});  // no report, no temporary file
}

}  // namespace
}  // namespace migscope
