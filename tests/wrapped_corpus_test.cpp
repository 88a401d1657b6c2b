// Real wrapped inputs (corpus/wrapped/, made by Debian's libvirt 9.0 and
// trixie's 11.3; provenance in its README): every libvirt save, managed
// save, snapshot memory file and compressed `virsh dump` gives the same
// state, desc, hash and extracted files as the bare stream the real tools
// took out of it (tail -c + N | gzip -dc, ...).
#include <filesystem>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "migscope/ops.h"
#include "wire/endian.h"
#include "test_paths.h"

namespace migscope {
namespace {

namespace fs = std::filesystem;

fs::path wrapped_dir() { return fs::path(test::binary_dir()) / "corpus" / "wrapped"; }

// Each wrapped image with its ground truth, NAME.stream.mig.
struct Pair {
  fs::path image, stream;
};

std::vector<Pair> pairs() {
  std::vector<Pair> out;
  if (!fs::exists(wrapped_dir())) return out;
  for (const auto& e : fs::directory_iterator(wrapped_dir())) {
    const std::string name = e.path().filename().string();
    if (name.find(".stream.mig") != std::string::npos) continue;
    std::string base = name;
    for (const char* suffix : {".save", ".mig.gz", ".mig.xz"})
      if (base.size() > std::string(suffix).size() && base.ends_with(suffix)) base.resize(base.size() - std::string(suffix).size());
    const fs::path stream = wrapped_dir() / (base + ".stream.mig");
    if (base != name && fs::exists(stream)) out.push_back({e.path(), stream});
  }
  std::sort(out.begin(), out.end(), [](const Pair& a, const Pair& b) { return a.image < b.image; });
  return out;
}

struct Texts {
  std::string state, desc, hash;
};

Texts outputs_of(const Dump& d) {
  Texts t;
  EXPECT_TRUE(ops::state(d, {}, ops::TextOutput::to_string(t.state)).ok());
  EXPECT_TRUE(ops::desc(d, ops::TextOutput::to_string(t.desc)).ok());
  EXPECT_TRUE(ops::hash(d, {}, ops::TextOutput::to_string(t.hash)).ok());
  return t;
}

TEST(WrappedCorpus, EveryImageReadsAsTheStreamTheRealToolsTookOut) {
  const auto all = pairs();
  if (all.empty()) GTEST_SKIP() << "corpus/wrapped not built";
  EXPECT_GE(all.size(), 15u);
  std::size_t compared = 0;
  for (const Pair& p : all) {
    SCOPED_TRACE(p.image.filename().string());
    auto image = Dump::open(p.image.string());
    ASSERT_TRUE(image.ok()) << image.error().message();
    auto stream = Dump::open(p.stream.string());
    ASSERT_TRUE(stream.ok()) << stream.error().message();
    EXPECT_EQ(image->size() - image->location().stream_offset, stream->size())
        << "the stream (decompressed, or after the libvirt header) has the ground truth's length";
    const Texts a = outputs_of(*image), b = outputs_of(*stream);
    EXPECT_FALSE(a.state.empty());
    EXPECT_TRUE(a.state == b.state) << "state differs";
    EXPECT_TRUE(a.desc == b.desc) << "desc differs";
    EXPECT_TRUE(a.hash == b.hash) << "hash differs";
    ++compared;
  }
  EXPECT_GE(compared, 15u);
}

std::string file_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

TEST(WrappedCorpus, ExtractGivesTheSameFilesAsTheBareStream) {
  for (const char* name : {"q35-gzip.save", "q35-10.0-zstd.save", "q35-dump-xz.mig.xz"}) {
    SCOPED_TRACE(name);
    const fs::path image = wrapped_dir() / name;
    if (!fs::exists(image)) GTEST_SKIP() << "corpus/wrapped not built";
    std::string base = name;
    base.resize(base.find('.'));
    if (std::string(name).starts_with("q35-10.0")) base = "q35-10.0-zstd";
    const fs::path stream = wrapped_dir() / (base + ".stream.mig");
    const fs::path out = fs::temp_directory_path() / ("migscope-wrapped-" + std::to_string(::getpid()));
    fs::remove_all(out);
    std::vector<ops::ExtractReport> reports;
    for (const fs::path& in : {image, stream}) {
      auto d = Dump::open(in.string());
      ASSERT_TRUE(d.ok()) << d.error().message();
      ops::ExtractOptions o;
      o.dir = (out / in.filename()).string();
      auto r = ops::extract(*d, o);
      ASSERT_TRUE(r.ok()) << r.error().message();
      reports.push_back(std::move(r).value());
    }
    ASSERT_EQ(reports[0].blocks.size(), reports[1].blocks.size());
    std::vector<std::string> files = {"state.json", "desc.json"};
    for (const ExtractedBlock& b : reports[0].blocks) files.push_back(b.relative_path);
    for (const std::string& f : files)
      EXPECT_TRUE(file_bytes(out / image.filename() / f) == file_bytes(out / stream.filename() / f)) << f;
    fs::remove_all(out);
  }
}

// Real saves made incomplete as libvirt leaves a save that never finished:
// the magic still 'LibvirtQemudPart' (libvirt rewrites it last), whole or cut
// short. Every operation names it (truncated); with keep_going, info and state
// read what it holds: all of it when the stream is whole.
TEST(WrappedCorpus, AnIncompleteSaveIsNamedAndReadAsFarAsItGoes) {
  const fs::path dir = fs::temp_directory_path() / ("migscope-part-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const char* name : {"q35-raw.save", "q35-gzip.save", "q35-lzop.save", "q35-10.0-zstd.save"}) {
    SCOPED_TRACE(name);
    const fs::path real = wrapped_dir() / name;
    if (!fs::exists(real)) GTEST_SKIP() << "corpus/wrapped not built";
    std::string bytes = file_bytes(real);
    auto complete = Dump::open(real.string());
    ASSERT_TRUE(complete.ok()) << complete.error().message();
    const std::uint64_t payload = complete->location().compression == Compression::none
                                      ? complete->location().stream_offset
                                      : complete->location().payload_offset;
    std::string complete_state;
    ASSERT_TRUE(ops::state(*complete, {}, ops::TextOutput::to_string(complete_state)).ok());
    const ops::InfoReport complete_info = ops::info(*complete);
    ASSERT_FALSE(complete_info.damage.has_value());
    std::memcpy(bytes.data(), "LibvirtQemudPart", 16);

    // Whole: every byte of the stream is there, the header only says Part.
    const fs::path whole = dir / "whole.save";
    std::ofstream(whole, std::ios::binary) << bytes;
    auto d = Dump::open(whole.string());
    ASSERT_TRUE(d.ok()) << d.error().message();
    ASSERT_NE(d->libvirt(), nullptr);
    EXPECT_FALSE(d->libvirt()->complete);
    const ops::InfoReport info = ops::info(*d);
    ASSERT_TRUE(info.damage.has_value());
    EXPECT_EQ(info.damage->code, ErrorCode::truncated);
    EXPECT_NE(info.damage->detail.find("incomplete libvirt save image"), std::string::npos) << info.damage->detail;
    EXPECT_NE(info.damage->detail.find("reads to its end"), std::string::npos) << info.damage->detail;
    EXPECT_EQ(info.sections.size(), complete_info.sections.size());
    std::string refused_text;
    auto refused = ops::state(*d, {}, ops::TextOutput::to_string(refused_text));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::truncated);
    EXPECT_EQ(refused.error().offset, 0u);
    EXPECT_EQ(refused.error().remedy, Remedy::keep_going);
    EXPECT_TRUE(refused_text.empty());
    ops::StateOptions keep_going;
    keep_going.keep_going = true;
    std::string text;
    auto read = ops::state(*d, keep_going, ops::TextOutput::to_string(text));
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.error().code, ErrorCode::truncated);
    // The complete save's state, then the record of why it is incomplete.
    const std::size_t last = complete_state.rfind("\n}");
    ASSERT_NE(last, std::string::npos);
    EXPECT_TRUE(text.compare(0, last, complete_state, 0, last) == 0);
    EXPECT_NE(text.find("\"migscope error\"", last), std::string::npos);
    std::string out;
    EXPECT_EQ(ops::hash(*d, {}, ops::TextOutput::to_string(out)).error().code, ErrorCode::truncated);
    EXPECT_EQ(ops::desc(*d, ops::TextOutput::to_string(out)).error().code, ErrorCode::truncated);
    EXPECT_EQ(ops::cat(*d, {}, ops::TextOutput::to_string(out)).error().code, ErrorCode::truncated);
    ops::ExtractOptions x;
    x.dir = (dir / "extract").string();
    EXPECT_EQ(ops::extract(*d, x).error().code, ErrorCode::truncated);
    EXPECT_FALSE(fs::exists(dir / "extract" / "state.json"));
    EXPECT_TRUE(out.empty());

    // Cut short (60% of its payload): read as far as it goes.
    const fs::path cut = dir / "cut.save";
    const std::uint64_t keep = payload + (bytes.size() - payload) * 3 / 5;
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, keep);
    auto c = Dump::open(cut.string());
    ASSERT_TRUE(c.ok()) << c.error().message();
    const ops::InfoReport cut_info = ops::info(*c);
    ASSERT_TRUE(cut_info.damage.has_value());
    EXPECT_EQ(cut_info.damage->code, ErrorCode::truncated);
    EXPECT_NE(cut_info.damage->detail.find("incomplete libvirt save image"), std::string::npos) << cut_info.damage->detail;
    EXPECT_NE(cut_info.damage->detail.find("its stream stops here"), std::string::npos) << cut_info.damage->detail;
    EXPECT_GT(cut_info.damage->offset, c->location().stream_offset);
    EXPECT_GE(cut_info.sections.size(), 1u);
    EXPECT_LT(cut_info.sections.size(), complete_info.sections.size());
    // What it holds is a prefix of the complete stream (for a compressed one,
    // all but at most the last 64 KiB decompressed before the cut).
    const Bytes got = c->bytes().subspan(c->location().stream_offset);
    const Bytes all = complete->bytes().subspan(complete->location().stream_offset);
    ASSERT_LE(got.size(), all.size());
    EXPECT_GT(got.size(), all.size() / 4);
    EXPECT_EQ(std::memcmp(got.data(), all.data(), got.size()), 0);
    std::string cut_text;
    auto cut_state = ops::state(*c, keep_going, ops::TextOutput::to_string(cut_text));
    ASSERT_FALSE(cut_state.ok());
    EXPECT_EQ(cut_state.error().code, ErrorCode::truncated);
    EXPECT_NE(cut_text.find("\"migscope error\""), std::string::npos);

    // Cut inside its first compressed bytes: nothing to walk, named all the same.
    if (complete->location().compression != Compression::none) {
      std::ofstream(cut, std::ios::binary | std::ios::trunc) << bytes.substr(0, payload + 10);
      auto early = Dump::open(cut.string());
      ASSERT_FALSE(early.ok());
      EXPECT_EQ(early.error().code, ErrorCode::truncated) << early.error().message();
      EXPECT_NE(early.error().detail.find("incomplete libvirt save image"), std::string::npos) << early.error().detail;
    }
  }
  fs::remove_all(dir);
}

TEST(WrappedCorpus, SparseSavesAreMappedRamAtFileOffsets) {
  // Sparse saves (trixie's libvirt 11.3, QEMU 10.0, one and two channels)
  // have no bare stream to compare with; their firmware block must equal the
  // one of a zstd save by the same QEMU, and threads must not matter.
  const fs::path zstd = wrapped_dir() / "q35-10.0-zstd.save";
  if (!fs::exists(zstd)) GTEST_SKIP() << "corpus/wrapped not built";
  auto bios_line = [](const std::string& hash) {
    const std::size_t at = hash.find("{\"block\":\"pc.bios\",\"length\"");
    return at == std::string::npos ? std::string() : hash.substr(at, hash.find('\n', at) - at);
  };
  auto reference = Dump::open(zstd.string());
  ASSERT_TRUE(reference.ok());
  std::string ref_hash;
  ASSERT_TRUE(ops::hash(*reference, {}, ops::TextOutput::to_string(ref_hash)).ok());
  ASSERT_FALSE(bios_line(ref_hash).empty());
  for (const char* name : {"q35-10.0-sparse.save", "q35-10.0-sparse-2ch.save"}) {
    SCOPED_TRACE(name);
    auto d = Dump::open((wrapped_dir() / name).string());
    ASSERT_TRUE(d.ok()) << d.error().message();
    ASSERT_NE(d->libvirt(), nullptr);
    EXPECT_EQ(d->libvirt()->format, 6u);
    EXPECT_EQ(d->location().compression, Compression::none);
    std::string one, two;
    ops::HashOptions o;
    ASSERT_TRUE(ops::hash(*d, o, ops::TextOutput::to_string(one)).ok());
    o.threads = 2;
    ASSERT_TRUE(ops::hash(*d, o, ops::TextOutput::to_string(two)).ok());
    EXPECT_EQ(one, two);
    EXPECT_EQ(bios_line(one), bios_line(ref_hash));
    ops::InfoReport info = ops::info(*d);
    EXPECT_FALSE(info.damage.has_value());
    std::uint64_t mapped = 0;
    for (const BlockPageStats& s : info.block_stats) mapped += s.records[static_cast<std::size_t>(PageKind::mapped)];
    EXPECT_GT(mapped, 0u);
  }
}

TEST(WrappedCorpus, TheDomainOfARealSave) {
  const fs::path p = wrapped_dir() / "q35-10.0-sparse-2ch.save";
  if (!fs::exists(p)) GTEST_SKIP() << "corpus/wrapped not built";
  auto d = Dump::open(p.string());
  ASSERT_TRUE(d.ok());
  ASSERT_NE(d->libvirt(), nullptr);
  EXPECT_TRUE(d->libvirt()->complete);
  auto dom = summarize_domain_xml(d->libvirt()->xml);
  ASSERT_TRUE(dom.ok()) << dom.error().message();
  EXPECT_EQ(dom->name, "mig-q35-10.0-sparse-2ch");
  EXPECT_EQ(dom->memory_kib, 128u * 1024);
  EXPECT_EQ(dom->vcpus, 1u);
  EXPECT_EQ(dom->machine, "pc-q35-10.0");
  EXPECT_EQ(dom->arch, "x86_64");
}

}  // namespace
}  // namespace migscope

namespace migscope {
namespace {

TEST(WrappedCorpus, Qcow2SnapshotsReadAsTheVmStateQemuIoRead) {
  const fs::path image = wrapped_dir() / "q35-2snaps.qcow2";
  if (!fs::exists(image)) GTEST_SKIP() << "corpus/wrapped not built";
  // Two snapshots with a VM state: one must be named.
  auto unnamed = Dump::open(image.string(), OpenOptions{});
  ASSERT_FALSE(unnamed.ok());
  EXPECT_EQ(unnamed.error().code, ErrorCode::usage);
  EXPECT_NE(unnamed.error().detail.find("1 's1', 2 's2'"), std::string::npos) << unnamed.error().detail;
  auto missing = Dump::open(image.string(), OpenOptions{"", "s3"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::usage);
  // By id or by name; the ground truth is qemu-io's read of each VM state.
  for (auto [which, truth] : {std::pair{"1", "q35-2snaps.s1.stream.mig"}, std::pair{"s2", "q35-2snaps.s2.stream.mig"}}) {
    SCOPED_TRACE(which);
    auto d = Dump::open(image.string(), OpenOptions{"", which});
    ASSERT_TRUE(d.ok()) << d.error().message();
    ASSERT_NE(d->snapshot(), nullptr);
    auto t = Dump::open((wrapped_dir() / truth).string());
    ASSERT_TRUE(t.ok());
    ASSERT_EQ(d->size(), t->size());
    EXPECT_EQ(std::memcmp(d->bytes().data(), t->bytes().data(), d->size()), 0) << "VM state bytes differ";
    const Texts a = outputs_of(*d), b = outputs_of(*t);
    EXPECT_TRUE(a.state == b.state);
    EXPECT_TRUE(a.desc == b.desc);
    EXPECT_TRUE(a.hash == b.hash);
  }
  auto in = InputFile::open(image.string());
  ASSERT_TRUE(in.ok());
  auto q = read_qcow2(in->bytes());
  ASSERT_TRUE(q.ok()) << q.error().message();
  EXPECT_EQ(q->version, 3u);
  ASSERT_EQ(q->snapshots.size(), 2u);
  EXPECT_EQ(q->snapshots[0].name, "s1");
  EXPECT_EQ(q->snapshots[1].vm_state_size, 940671u);
  // A snapshot named for a file that is not a qcow2 image is a usage error.
  auto plain = Dump::open((wrapped_dir() / "q35-2snaps.s1.stream.mig").string(), OpenOptions{"", "s1"});
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.error().code, ErrorCode::usage);
}

}  // namespace
}  // namespace migscope

namespace migscope {
namespace {

// A VM state in zstd-compressed clusters (compression type zstd), made of
// QEMU's pieces (corpus/make-wrapped-corpus.sh make_qcow2_zstd: a real savevm,
// compressed by qemu-img convert -c); the ground truth is what qemu-io reads
// through QEMU's own zstd decompression.
TEST(WrappedCorpus, AZstdCompressedVmStateReadsAsQemuIoReadIt) {
  const fs::path image = wrapped_dir() / "q35-zstd-vmstate.qcow2";
  if (!fs::exists(image)) GTEST_SKIP() << "corpus/wrapped not built";
  auto in = InputFile::open(image.string());
  ASSERT_TRUE(in.ok());
  auto q = read_qcow2(in->bytes());
  ASSERT_TRUE(q.ok()) << q.error().message();
  EXPECT_EQ(q->compression_type, 1u);
  ASSERT_EQ(q->snapshots.size(), 1u);
  auto d = Dump::open(image.string());
  ASSERT_TRUE(d.ok()) << d.error().message();
  auto t = Dump::open((wrapped_dir() / "q35-zstd-vmstate.s1.stream.mig").string());
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(d->size(), t->size());
  EXPECT_EQ(std::memcmp(d->bytes().data(), t->bytes().data(), d->size()), 0) << "VM state bytes differ";
  const Texts a = outputs_of(*d), b = outputs_of(*t);
  EXPECT_TRUE(a.state == b.state);
  EXPECT_TRUE(a.hash == b.hash);
  // Every VM state cluster is compressed: the reader did decompress zstd.
  const Bytes file = in->bytes();
  const std::uint64_t l1 = load_be64(file.data() + q->snapshots[0].l1_table_offset + 8) & 0x00fffffffffffe00ull;
  EXPECT_NE(load_be64(file.data() + l1) & (1ull << 62), 0u) << "the first VM state cluster is not compressed";
}

TEST(WrappedCorpus, CatWritesTheStreamQemuWrote) {
  const auto all = pairs();
  if (all.empty()) GTEST_SKIP() << "corpus/wrapped not built";
  for (const Pair& p : all) {
    SCOPED_TRACE(p.image.filename().string());
    auto d = Dump::open(p.image.string());
    if (!d.ok()) continue;  // formats not read yet are covered above
    std::string out;
    auto r = ops::cat(*d, {}, ops::TextOutput::to_string(out));
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->rebased_blocks, 0u);
    EXPECT_TRUE(out == file_bytes(p.stream)) << "not the ground-truth stream, byte for byte";
  }
  auto q = Dump::open((wrapped_dir() / "q35-2snaps.qcow2").string(), OpenOptions{"", "s2"});
  ASSERT_TRUE(q.ok());
  std::string vmstate;
  ASSERT_TRUE(ops::cat(*q, {}, ops::TextOutput::to_string(vmstate)).ok());
  EXPECT_TRUE(vmstate == file_bytes(wrapped_dir() / "q35-2snaps.s2.stream.mig"));
}

TEST(WrappedCorpus, CatOfASparseSaveIsAnEquivalentBareMappedRamStream) {
  const fs::path dir = fs::temp_directory_path() / ("migscope-cat-" + std::to_string(::getpid()));
  for (const char* name : {"q35-10.0-sparse.save", "q35-10.0-sparse-2ch.save"}) {
    SCOPED_TRACE(name);
    const fs::path image = wrapped_dir() / name;
    if (!fs::exists(image)) GTEST_SKIP() << "corpus/wrapped not built";
    fs::remove_all(dir);
    fs::create_directories(dir);
    auto d = Dump::open(image.string());
    ASSERT_TRUE(d.ok());
    ops::CatOptions o;
    o.output = (dir / "bare.mig").string();
    auto r = ops::cat(*d, o, {});
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->rebased_blocks, 2u + 1u);  // pc.ram, pc.bios, pc.rom
    auto bare = Dump::open(o.output);
    ASSERT_TRUE(bare.ok()) << bare.error().message();
    EXPECT_EQ(bare->location().stream_offset, 0u);
    EXPECT_EQ(bare->libvirt(), nullptr);
    const Texts a = outputs_of(*d), b = outputs_of(*bare);
    EXPECT_TRUE(a.state == b.state);
    EXPECT_TRUE(a.hash == b.hash);
    // To a string, the same bytes as to the file; the file is sparse.
    std::string text;
    ASSERT_TRUE(ops::cat(*d, {}, ops::TextOutput::to_string(text)).ok());
    EXPECT_TRUE(text == file_bytes(o.output));
    // An existing output is kept unless forced.
    auto again = ops::cat(*d, o, {});
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, ErrorCode::output_refused);
    o.force = true;
    EXPECT_TRUE(ops::cat(*d, o, {}).ok());
  }
  fs::remove_all(dir);
}

// Every wrapped input cut short (bare and decompressed streams, libvirt
// saves, qcow2 images): cat is an error naming the damage, to a string or a
// file, and leaves no file that could pass for the stream.
TEST(WrappedCorpus, CatOfAnInputCutShortIsAnErrorAndWritesNothing) {
  const auto all = pairs();
  if (all.empty()) GTEST_SKIP() << "corpus/wrapped not built";
  const fs::path dir = fs::temp_directory_path() / ("migscope-catcut-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<fs::path> inputs;
  for (const Pair& p : all) inputs.insert(inputs.end(), {p.image, p.stream});
  for (const char* image : {"q35-2snaps.qcow2", "q35-zstd-vmstate.qcow2"}) inputs.push_back(wrapped_dir() / image);
  int cuts = 0;
  for (const fs::path& input : inputs) {
    const std::string whole = file_bytes(input);
    for (const double at : {0.3, 0.7, 0.999}) {
      const std::size_t n = static_cast<std::size_t>(static_cast<double>(whole.size()) * at);
      SCOPED_TRACE(input.filename().string() + " cut to " + std::to_string(n));
      const fs::path cut = dir / ("cut" + input.extension().string());
      std::ofstream(cut, std::ios::binary | std::ios::trunc).write(whole.data(), static_cast<std::streamsize>(n));
      auto d = Dump::open(cut.string(), OpenOptions{"", input.extension() == ".qcow2" ? "1" : ""});
      if (!d.ok()) {  // the damage may show at open already
        EXPECT_TRUE(d.error().code == ErrorCode::truncated || d.error().code == ErrorCode::corrupt) << d.error().message();
        ++cuts;
        continue;
      }
      std::string text;
      auto to_text = ops::cat(*d, {}, ops::TextOutput::to_string(text));
      ASSERT_FALSE(to_text.ok()) << "cat of a cut input succeeded";
      EXPECT_TRUE(to_text.error().code == ErrorCode::truncated || to_text.error().code == ErrorCode::corrupt)
          << to_text.error().message();
      ops::CatOptions o;
      o.output = (dir / "out.mig").string();
      auto to_file = ops::cat(*d, o, {});
      ASSERT_FALSE(to_file.ok());
      EXPECT_FALSE(fs::exists(o.output)) << "a cut input left an output";
      ++cuts;
    }
  }
  fs::remove_all(dir);
  EXPECT_GE(cuts, 3 * 30);
}

}  // namespace
}  // namespace migscope
