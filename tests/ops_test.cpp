// The operations (core/ops, include/migscope/ops.h) as a library user calls
// them: results equal what the executables print, errors are values naming
// what went wrong, and nothing is printed.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <gtest/gtest.h>

#include "migscope/ops.h"
#include "test_paths.h"

namespace migscope {
namespace {

namespace fs = std::filesystem;

std::string stream_path(const std::string& name) { return test::binary_dir() + "/corpus/streams/" + name; }

Dump open_or_die(const std::string& path) {
  auto d = Dump::open(path);
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().message());
  return std::move(d).value();
}

class OpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("migscope-ops-test-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(OpsTest, StateIntoAStringEqualsUpstreamsGolden) {
  Dump dump = open_or_die(stream_path("x86_64-q35-7.2-devices.mig"));
  std::string text;
  auto summary = ops::state(dump, {}, ops::TextOutput::to_string(text));
  ASSERT_TRUE(summary.ok()) << summary.error().message();
  EXPECT_EQ(text, test::read_file(test::binary_dir() + "/corpus/golden/x86_64-q35-7.2-devices.state.json"));
  EXPECT_GT(summary->sections, 0u);
}

TEST_F(OpsTest, HashIntoAStringEqualsTheCommandAndDoesNotDependOnThreads) {
  const std::string path = stream_path("x86_64-q35-7.2-xbzrle.mig");  // XBZRLE: the second pass runs too
  Dump dump = open_or_die(path);
  std::string one, two;
  ops::HashOptions options;
  auto r1 = ops::hash(dump, options, ops::TextOutput::to_string(one));
  ASSERT_TRUE(r1.ok()) << r1.error().message();
  options.threads = 2;
  auto r2 = ops::hash(dump, options, ops::TextOutput::to_string(two));
  ASSERT_TRUE(r2.ok()) << r2.error().message();
  EXPECT_EQ(one, two);
  std::string cli, command = "'";  // built piece by piece: GCC 12 warns (-Wrestrict, falsely) on "'" + std::string&&
  command += test::tool_path("migscope");
  command += "' hash -j1 '";
  command += path;
  command += "'";
  ASSERT_EQ(test::run_command(command, &cli), 0);
  EXPECT_EQ(one, cli);
  // The report's blocks are the summary lines.
  ASSERT_FALSE(r1->blocks.empty());
  for (const BlockHashSummary& b : r1->blocks) {
    EXPECT_NE(one.find("{\"block\":\"" + b.name + "\",\"length\":" + std::to_string(b.length) + ","), std::string::npos) << b.name;
    EXPECT_TRUE(b.whole_hash);
  }
}

TEST_F(OpsTest, DescWithoutADescriptionIsUnsupportedAndWritesNothing) {
  Dump dump = open_or_die(stream_path("x86_64-q35-7.2-no-vmdesc.mig"));
  std::string text;
  Status st = ops::desc(dump, ops::TextOutput::to_string(text));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::unsupported);
  EXPECT_TRUE(text.empty());
  EXPECT_EQ(dump.vmdesc(), nullptr);
}

TEST_F(OpsTest, AFailedWriteIsAnIoErrorNamingTheOutput) {
  std::FILE* full = std::fopen("/dev/full", "w");
  if (!full) GTEST_SKIP() << "no /dev/full";
  Dump dump = open_or_die(stream_path("x86_64-q35-7.2.mig"));
  auto summary = ops::state(dump, {}, ops::TextOutput::to_file(full, "the full device"));
  std::fclose(full);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.error().code, ErrorCode::io);
  EXPECT_NE(summary.error().detail.find("the full device"), std::string::npos) << summary.error().detail;
}

TEST_F(OpsTest, InfoOnATruncatedStreamReportsWhereItStopped) {
  const std::string whole = test::read_file(stream_path("x86_64-q35-7.2.mig"));
  ASSERT_GT(whole.size(), 1000u);
  const fs::path cut = dir_ / "cut.mig";
  std::ofstream(cut, std::ios::binary).write(whole.data(), static_cast<std::streamsize>(whole.size() / 2));
  Dump dump = open_or_die(cut.string());
  ops::InfoReport info = ops::info(dump);
  ASSERT_TRUE(info.damage.has_value());
  EXPECT_EQ(info.damage->code, ErrorCode::truncated);
  EXPECT_LE(info.damage->offset, whole.size() / 2);
  EXPECT_FALSE(info.sections.empty());  // what was read before the damage
  EXPECT_EQ(info.summary.ram_blocks.size(), info.block_stats.size());

  Dump complete = open_or_die(stream_path("x86_64-q35-7.2.mig"));
  ops::InfoReport full = ops::info(complete);
  EXPECT_FALSE(full.damage.has_value());
  EXPECT_GT(full.sections.size(), info.sections.size());
  ASSERT_TRUE(full.summary.eof_offset.has_value());
}

TEST_F(OpsTest, ExtractWritesEveryBlockAndRefusesToOverwriteWithARemedy) {
  Dump dump = open_or_die(stream_path("x86_64-q35-7.2.mig"));
  ops::ExtractOptions options;
  options.dir = (dir_ / "out").string();
  auto report = ops::extract(dump, options);
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_TRUE(report->wrote_desc);
  ASSERT_FALSE(report->blocks.empty());
  for (const ExtractedBlock& b : report->blocks) {
    ASSERT_TRUE(fs::exists(dir_ / "out" / b.relative_path)) << b.relative_path;
    EXPECT_EQ(fs::file_size(dir_ / "out" / b.relative_path), b.length);
  }
  EXPECT_TRUE(fs::exists(dir_ / "out" / "state.json"));
  auto again = ops::extract(dump, options);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::output_refused);
  EXPECT_EQ(again.error().remedy, Remedy::allow_overwrite);
  EXPECT_EQ(again.error().detail.find("--"), std::string::npos) << "core names no flag: " << again.error().detail;
  options.force = true;
  EXPECT_TRUE(ops::extract(dump, options).ok());
}

TEST_F(OpsTest, CheckLoadsStreamsAndDumpsAndRefusesToMixThem) {
  const std::string stream = test::binary_dir() + "/corpus/vmstate/streams";
  std::string a, b;
  for (const auto& e : fs::directory_iterator(stream))
    if (e.path().extension() == ".mig") (a.empty() ? a : b) = e.path().string();
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  auto sa = ops::load_vmstate(a);
  auto sb = ops::load_vmstate(b);
  ASSERT_TRUE(sa.ok()) << sa.error().message();
  ASSERT_TRUE(sb.ok()) << sb.error().message();
  EXPECT_TRUE(sa->from_stream);
  auto renames = ops::builtin_renames(true);
  ASSERT_TRUE(renames.ok());
  auto same = ops::check(*sa, *sa, *renames);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->findings.empty());

  const std::string dump = test::binary_dir() + "/corpus/vmstate/dumps/aarch64-virt-7.2.json";
  auto d = ops::load_vmstate(dump);
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_FALSE(d->from_stream);
  auto mixed = ops::check(*sa, *d, *renames);
  ASSERT_FALSE(mixed.ok());
  EXPECT_EQ(mixed.error().code, ErrorCode::usage);

  auto missing = ops::load_vmstate((dir_ / "nope.json").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::io);
}

// The pair loaders run the second load on a thread of their own for large
// files: what they give must be what two calls give, errors included, in order.
TEST_F(OpsTest, LoadingAPairGivesWhatTwoCallsGive) {
  const std::string big = test::binary_dir() + "/corpus/vmstate/dumps/aarch64-virt-7.2.json";
  const std::string other = test::binary_dir() + "/corpus/vmstate/dumps/x86_64-pc-q35-7.2.json";
  const std::string text = test::read_file(big);
  ASSERT_GT(text.size(), 256u * 1024);
  const std::string cut = (dir_ / "cut.json").string();
  {
    std::ofstream out(cut, std::ios::binary);
    out.write(text.data(), static_cast<std::streamsize>(text.size() / 2));
  }
  auto same = [](const auto& pair_result, const auto& single) {
    ASSERT_EQ(pair_result.ok(), single.ok());
    if (!single.ok()) {
      EXPECT_EQ(pair_result.error().message(), single.error().message());
    }
  };
  for (const auto& [a, b] : {std::pair{big, other}, std::pair{cut, other}, std::pair{big, cut}, std::pair{cut, cut}}) {
    auto [pa, pb] = ops::load_vmstate_pair(a, b);
    auto sa = ops::load_vmstate(a);
    auto sb = ops::load_vmstate(b);
    same(pa, sa);
    same(pb, sb);
    if (pa.ok() && sa.ok()) {
      EXPECT_EQ(pa->dump.sections.size(), sa->dump.sections.size());
      EXPECT_EQ(pa->dump.machine, sa->dump.machine);
    }
    if (pb.ok() && sb.ok()) {
      EXPECT_EQ(pb->dump.sections.size(), sb->dump.sections.size());
      EXPECT_EQ(pb->dump.machine, sb->dump.machine);
    }
    auto [da, db] = ops::load_vmstate_dump_pair(a, b, true);
    auto ua = ops::load_vmstate_dump(a, true);
    auto ub = ops::load_vmstate_dump(b, true);
    same(da, ua);
    same(db, ub);
    // The drop-in's plain-text loader: the same on JSON text.
    auto [ta, tb] = ops::load_plain_vmstate_dump_pair(a, b, true);
    same(ta, ua);
    same(tb, ub);
    if (ta.ok() && ua.ok()) {
      EXPECT_EQ(ta->sections.size(), ua->sections.size());
      EXPECT_EQ(ta->machine, ua->machine);
    }
  }
  auto [ok, cut_result] = ops::load_vmstate_pair(big, cut);
  ASSERT_TRUE(ok.ok());
  ASSERT_FALSE(cut_result.ok());
  EXPECT_EQ(cut_result.error().code, ErrorCode::invalid_json);
  auto [missing, fine] = ops::load_vmstate_pair((dir_ / "nope.json").string(), big);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::io);
  EXPECT_TRUE(fine.ok());
}

// load_vmstate_dump reads a compressed document through; the plain loader
// (upstream's script reads text only) stops at its first byte.
TEST_F(OpsTest, ThePlainPairLoaderReadsTextOnly) {
  const std::string xz = test::source_dir() + "/corpus/vmstate/dumps/x86_64-pc-q35-7.2.json.xz";
  const std::string text = test::binary_dir() + "/corpus/vmstate/dumps/x86_64-pc-q35-7.2.json";
  auto through = ops::load_vmstate_dump(xz, true);
  ASSERT_TRUE(through.ok()) << through.error().message();
  auto [plain_xz, plain_text] = ops::load_plain_vmstate_dump_pair(xz, text, true);
  ASSERT_FALSE(plain_xz.ok());
  EXPECT_EQ(plain_xz.error().code, ErrorCode::invalid_json);
  EXPECT_EQ(plain_xz.error().offset, 0u);
  ASSERT_TRUE(plain_text.ok()) << plain_text.error().message();
  EXPECT_EQ(plain_text->sections.size(), through->sections.size());
  EXPECT_EQ(plain_text->machine, through->machine);
}

}  // namespace
}  // namespace migscope
