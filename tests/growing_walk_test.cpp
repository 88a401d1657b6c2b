// A stream walked while it is still being produced (stream/growing_walk.h,
// input/stream_window.h) against the same bytes walked mapped: the same
// events in the same order and the same summary, for every real corpus
// stream, produced in chunks small enough to cut records anywhere; the
// description learnt at the end; the streams that cannot be walked that way
// (no section footers) walked again through Dump without repeating events.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <xxhash.h>

#include "input/stream_window.h"
#include "sinks/inorder_hasher.h"
#include "stream_builder.h"
#include "migscope/stream.h"
#include "stream/growing_walk.h"
#include "test_paths.h"
#include "vmdesc/vmdesc.h"

namespace migscope {
namespace {

namespace fs = std::filesystem;

// Bytes from memory, at most `step` per read.
class MemoryReader final : public SequentialReader {
 public:
  MemoryReader(std::string data, std::size_t step, std::optional<std::size_t> fail_at = std::nullopt)
      : data_(std::move(data)), step_(step), fail_at_(fail_at) {}
  Result<std::size_t> read(std::span<std::byte> out) override {
    std::size_t end = data_.size();
    if (fail_at_ && pos_ >= *fail_at_) return make_error(ErrorCode::corrupt, 77, "the source broke here");
    if (fail_at_) end = std::min(end, *fail_at_);
    const std::size_t n = std::min({out.size(), step_, end - pos_});
    std::memcpy(out.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  std::string name() const override { return "memory"; }

 private:
  std::string data_;
  std::size_t step_, pos_ = 0;
  std::optional<std::size_t> fail_at_;
};

std::uint64_t h(Bytes b) { return XXH3_64bits(b.data(), b.size()); }

// Every event, one line each: pages (and block tables, discards) in their
// order, the other events in theirs. A deferred walk may report pages before
// sections that came earlier (kept for the description); each order is kept.
struct Log : StreamVisitor {
  std::string text, ram;
  void line(const std::string& s) { text += s + "\n"; }
  void ram_line(const std::string& s) { ram += s + "\n"; }
  Status on_configuration(const Configuration& c) override {
    line("config " + std::to_string(c.offset) + " " + std::string(c.machine) + " " + std::to_string(c.capabilities.size()));
    return {};
  }
  Status on_command(const Command& c) override {
    line("command " + std::to_string(c.offset) + " " + std::to_string(c.cmd) + " " + std::to_string(c.depth) + " " +
         std::to_string(h(c.payload)));
    return {};
  }
  Status on_section(const SectionEvent& ev) override {
    std::string t = "section ";
    for (const std::string& part : std::initializer_list<std::string>
         {std::to_string(ev.type), std::string(ev.info->idstr), std::to_string(ev.info->instance_id),
          std::string("v").append(std::to_string(ev.info->version_id)), std::string(section_kind_name(ev.info->kind)),
          std::string("@").append(std::to_string(ev.offset)),
          "body", std::to_string(ev.body_offset), std::to_string(ev.body_end), "end", std::to_string(ev.end)}) {
      t += part;
      t += ' ';
    }
    if (ev.has_footer) t += "footer ";
    if (ev.state) t += "state ";
    // RAM bodies are the pages (reported as pages); the other bodies are what consumers read.
    if (ev.info->kind != SectionKind::ram) t += std::to_string(h(ev.body));
    line(t);
    return {};
  }
  Status on_ram_blocks(const SectionInfo&, std::span<const RamBlock> blocks) override {
    std::string s = "blocks";
    for (const RamBlock& b : blocks) {
      s += ' ';
      s += b.name;
      s += ':';
      s += std::to_string(b.length);
    }
    ram_line(s);
    return {};
  }
  Status on_pages(std::span<const RamBlock>, std::span<const PageRecord> pages) override {
    for (const PageRecord& p : pages)
      ram_line("page " + std::to_string(p.block) + " " + std::to_string(p.offset) + " " + std::string(page_kind_name(p.kind)) + " " +
           std::to_string(p.file_offset) + " " + std::to_string(p.fill) + " " + std::to_string(h(p.payload)));
    return {};
  }
  Status on_ram_discard(std::span<const RamBlock>, const RamDiscard& d) override {
    ram_line("discard " + std::to_string(d.offset) + " " + std::to_string(d.block) + " " + std::to_string(d.ranges.size()));
    return {};
  }
};

std::string summary_text(const WalkSummary& s) {
  std::string t = "sections " + std::to_string(s.sections) + " commands " + std::to_string(s.commands) + " page " +
                  std::to_string(s.page_size) + " " + s.page_size_source + " eof " +
                  (s.eof_offset ? std::to_string(*s.eof_offset) : "-") + " trailer " +
                  (s.trailer_offset ? std::to_string(*s.trailer_offset) : "-") + "+" + std::to_string(s.trailer_length) +
                  " end " + std::to_string(s.end_offset) + " footers " + std::to_string(s.footers) + "\n";
  for (const Warning& w : s.warnings) t += "warning " + std::to_string(w.offset) + " " + w.text + "\n";
  return t;
}

std::vector<fs::path> corpus_streams() {
  std::vector<fs::path> all;
  for (const char* dir : {"streams", "streams-10.0"}) {
    const fs::path d = fs::path(test::binary_dir()) / "corpus" / dir;
    if (!fs::exists(d)) continue;
    for (const auto& e : fs::directory_iterator(d))
      if (e.path().extension() == ".mig") all.push_back(e.path());
  }
  std::sort(all.begin(), all.end());
  return all;
}

struct Walked {
  std::string log, ram, summary;
  std::string error;
};

// The first line where two logs differ (whole logs are too long to show).
std::string first_difference(const std::string& a, const std::string& b) {
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  std::size_t start = i;
  while (start > 0 && a[start - 1] != '\n') --start;
  auto line_of = [start](const std::string& s) {
    const std::size_t end = s.find('\n', start);
    return std::string_view(s).substr(std::min(start, s.size()), end == std::string::npos ? std::string::npos : end - start);
  };
  std::string out = "at byte ";
  out += std::to_string(i);
  out += ":\n  ";
  out += line_of(a);
  out += "\n  ";
  out += line_of(b);
  return out;
}
#define EXPECT_SAME_LOG(a, b) EXPECT_TRUE((a) == (b)) << first_difference(a, b)

// The mapped walk, with the trailer's description, as Dump::open does it.
Walked walk_mapped(const std::string& bytes_text) {
  Bytes bytes{reinterpret_cast<const std::byte*>(bytes_text.data()), bytes_text.size()};
  Walked out;
  auto loc = locate_stream(bytes);
  EXPECT_TRUE(loc.ok());
  if (!loc.ok()) return out;
  auto trailer = find_vmdesc_trailer(bytes.subspan(loc->stream_offset), loc->stream_offset);
  std::optional<Vmdesc> vmdesc;
  if (trailer) {
    auto v = Vmdesc::parse(trailer->json, trailer->offset + 5);
    EXPECT_TRUE(v.ok());
    if (v.ok()) vmdesc.emplace(std::move(v).value());
  }
  WalkOptions o;
  o.vmdesc = vmdesc ? &*vmdesc : nullptr;
  Log log;
  auto s = walk_stream(bytes, *loc, o, log);
  out.log = log.text;
  out.ram = log.ram;
  if (s.ok()) out.summary = summary_text(*s);
  else out.error = s.error().message();
  return out;
}

Walked walk_window(const std::string& bytes_text, std::size_t chunk, std::size_t step, DeferredWalk* learnt,
                   StreamWindow::Kind kind = StreamWindow::Kind::spool) {
  Walked out;
  auto w = StreamWindow::start(std::make_unique<MemoryReader>(bytes_text, step), UINT64_MAX, "memory", kind, chunk);
  EXPECT_TRUE(w.ok());
  if (!w.ok()) return out;
  StreamLocation loc;  // a bare stream starts at 0
  Log log;
  auto s = walk_growing(GrowingInput{(*w)->base(), (*w)->reserved(), w->get()}, loc, WalkOptions{}, log, nullptr, learnt);
  out.log = log.text;
  out.ram = log.ram;
  if (s.ok()) out.summary = summary_text(*s);
  else out.error = s.error().message();
  return out;
}

bool has_footers(const std::string& summary) { return summary.find(" footers 1\n") != std::string::npos; }

TEST(GrowingWalk, EveryCorpusStreamGivesTheEventsOfItsMappedWalk) {
  const auto streams = corpus_streams();
  if (streams.empty()) GTEST_SKIP() << "corpus not built";
  int deferred = 0;
  for (const fs::path& p : streams) {
    SCOPED_TRACE(p.filename().string());
    const std::string bytes = test::read_file(p.string());
    const Walked mapped = walk_mapped(bytes);
    if (!mapped.error.empty()) continue;  // a stream the mapped walk refuses has its own tests
    // Chunks of 4093 bytes (a prime: records cut at every position over the
    // corpus), the source read 1000 bytes at a time.
    DeferredWalk learnt;
    const Walked grown = walk_window(bytes, 4093, 1000, &learnt, StreamWindow::Kind::once);
    if (!has_footers(mapped.summary)) {
      // Without footers, a section's end needs its description: Dump walks
      // these again (the Dump test below).
      EXPECT_TRUE(learnt.needs_description || mapped.log.find(" device @") == std::string::npos);
      continue;
    }
    if (mapped.ram.find(" mapped ") != std::string::npos) {
      // mapped-ram pages lie ahead at fixed offsets: not from a read-once window.
      EXPECT_TRUE(learnt.needs_description);
      EXPECT_EQ(grown.log, "");  // nothing was given before it said so
      EXPECT_EQ(grown.ram, "");
      continue;
    }
    ASSERT_FALSE(learnt.needs_description) << grown.error;
    EXPECT_EQ(grown.error, "");
    EXPECT_EQ(grown.summary, mapped.summary);
    EXPECT_SAME_LOG(grown.log, mapped.log);
    EXPECT_SAME_LOG(grown.ram, mapped.ram);
    EXPECT_EQ(learnt.vmdesc.has_value(), mapped.log.find(" state") != std::string::npos || learnt.trailer.has_value());
    if (learnt.trailer) ++deferred;
  }
  EXPECT_GT(deferred, 10);  // most corpus streams have a trailer, decoded at the end
}

TEST(GrowingWalk, RecordsCutAtEveryByteStillParse) {
  // One small real stream, produced a few bytes at a time.
  const fs::path p = fs::path(test::binary_dir()) / "corpus" / "streams" / "x86_64-q35-7.2-devices.mig";
  if (!fs::exists(p)) GTEST_SKIP() << "corpus not built";
  const std::string bytes = test::read_file(p.string());
  const Walked mapped = walk_mapped(bytes);
  for (std::size_t chunk : {1u, 7u, 4096u, 4097u}) {
    SCOPED_TRACE(chunk);
    DeferredWalk learnt;
    const Walked grown = walk_window(bytes, chunk, 3, &learnt);
    EXPECT_EQ(grown.summary, mapped.summary);
    EXPECT_SAME_LOG(grown.log, mapped.log);
    EXPECT_SAME_LOG(grown.ram, mapped.ram);
  }
}

TEST(GrowingWalk, ACutStreamIsTruncatedAndItsKeptSectionsAreStillReported) {
  const fs::path p = fs::path(test::binary_dir()) / "corpus" / "streams" / "x86_64-q35-7.2.mig";
  if (!fs::exists(p)) GTEST_SKIP() << "corpus not built";
  const std::string whole = test::read_file(p.string());
  // Cut inside the device sections that follow the RAM: the mapped walk of
  // the cut stream has no trailer either, so both show those sections opaque.
  const std::string cut = whole.substr(0, whole.size() - 60000);
  const Walked mapped = walk_mapped(cut);
  DeferredWalk learnt;
  const Walked grown = walk_window(cut, 65536, 65536, &learnt);
  ASSERT_NE(mapped.error, "");
  EXPECT_EQ(grown.error, mapped.error);
  EXPECT_SAME_LOG(grown.log, mapped.log);
  EXPECT_SAME_LOG(grown.ram, mapped.ram);
  EXPECT_FALSE(learnt.vmdesc.has_value());
}

TEST(GrowingWalk, AFailingSourceIsReportedInsteadOfATruncation) {
  const fs::path p = fs::path(test::binary_dir()) / "corpus" / "streams" / "x86_64-q35-7.2.mig";
  if (!fs::exists(p)) GTEST_SKIP() << "corpus not built";
  const std::string whole = test::read_file(p.string());
  auto w = StreamWindow::start(std::make_unique<MemoryReader>(whole, 1 << 20, whole.size() / 2), UINT64_MAX, "memory", StreamWindow::Kind::once, 1 << 16);
  ASSERT_TRUE(w.ok());
  Log log;
  DeferredWalk learnt;
  auto s = walk_growing(GrowingInput{(*w)->base(), (*w)->reserved(), w->get()}, StreamLocation{}, WalkOptions{}, log, nullptr, &learnt);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::corrupt);
  EXPECT_EQ(s.error().offset, 77u);
  EXPECT_NE(s.error().detail.find("the source broke here"), std::string::npos);
}

TEST(StreamWindow, ProducesTheSourceAndStopsAtItsLimit) {
  std::string data(1 << 20, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 + (i >> 9));
  {
    auto w = StreamWindow::start(std::make_unique<MemoryReader>(data, 999), UINT64_MAX, "memory", StreamWindow::Kind::spool, 4096);
    ASSERT_TRUE(w.ok());
    auto all = (*w)->wait_all();
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), data.size());
    EXPECT_EQ(std::memcmp(all->data(), data.data(), data.size()), 0);
    EXPECT_EQ((*w)->failure(), nullptr);
  }
  {
    // A source that yields more than the limit (a decompression bomb).
    auto w = StreamWindow::start(std::make_unique<MemoryReader>(data, 1 << 16), 100000, "bomb.save", StreamWindow::Kind::spool, 4096);
    ASSERT_TRUE(w.ok());
    auto all = (*w)->wait_all();
    ASSERT_FALSE(all.ok());
    EXPECT_EQ(all.error().code, ErrorCode::unsupported);
    EXPECT_EQ(all.error().offset, 100000u);
    EXPECT_NE(all.error().detail.find("bomb.save holds more than 100000 bytes"), std::string::npos);
    EXPECT_EQ((*w)->filled(), 100000u);  // what fits is there, nothing more
  }
}

TEST(StreamWindow, TheProducerStaysABoundedDistanceAheadOfTheReader) {
  // 256 MiB of source, nobody reading: the producer must stop about kAhead in.
  class Endless final : public SequentialReader {
   public:
    Result<std::size_t> read(std::span<std::byte> out) override {
      std::memset(out.data(), 0x5a, out.size());
      produced += out.size();
      return out.size();
    }
    std::string name() const override { return "endless"; }
    std::atomic<std::uint64_t> produced{0};
  };
  auto source = std::make_unique<Endless>();
  Endless* raw = source.get();
  auto w = StreamWindow::start(std::move(source), std::uint64_t{1} << 40, "endless");
  ASSERT_TRUE(w.ok());
  // Wait until it stops growing.
  std::uint64_t last = UINT64_MAX;
  for (int i = 0; i < 200 && (*w)->filled() != last; ++i) {
    last = (*w)->filled();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_LE((*w)->filled(), StreamWindow::kAhead + StreamWindow::kChunk);
  EXPECT_LE(raw->produced.load(), StreamWindow::kAhead + 2 * StreamWindow::kChunk);
  // Asking for more lets it go on, again a bounded distance.
  EXPECT_GE((*w)->wait_for(StreamWindow::kAhead * 2, 0), StreamWindow::kAhead * 2);
}

// A stream far larger than what a read-once window keeps: the walk, and a
// hasher on a worker thread behind it, see every page as the mapped walk
// does, while the window frees what lies behind.
TEST(GrowingWalk, AReadOnceWindowFreesBehindTheWalkAndLosesNothing) {
  constexpr std::uint64_t kPages = 48 * 1024;  // 192 MiB of pages
  test::StreamBuilder b;
  b.header().configuration("pc-q35-7.2");
  b.section_start(2, "ram", 0, 4).ram_mem_size({{"pc.ram", kPages * 4096}}).ram_eos().footer(2);
  for (std::uint64_t p = 0; p < kPages; p += 1024) {
    b.section_part(2);
    for (std::uint64_t i = p; i < p + 1024; ++i) {
      if (i % 5 == 3) b.ram_zero(i * 4096, i == p ? "pc.ram" : "");
      else b.ram_page(i * 4096, i == p ? "pc.ram" : "", static_cast<std::uint8_t>(i * 7 + (i >> 8)));
    }
    b.ram_eos().footer(2);
  }
  b.section_full(3, "timer", 0, 2).fill(24, 0x11).footer(3).eof();
  const std::string bytes(reinterpret_cast<const char*>(b.bytes().data()), b.bytes().size());
  const Walked mapped = walk_mapped(bytes);
  ASSERT_EQ(mapped.error, "");

  auto w = StreamWindow::start(std::make_unique<MemoryReader>(bytes, 1 << 20), UINT64_MAX, "memory", StreamWindow::Kind::once);
  ASSERT_TRUE(w.ok());
  const Bytes span{(*w)->base(), static_cast<std::size_t>((*w)->reserved())};
  // Never released by consumers: its memory is anonymous (Dump says so: releasable()).
  InOrderHasher hasher(span, /*threaded=*/true, /*release_behind=*/false);
  Log log;
  StreamFanout both({&log, &hasher});
  DeferredWalk learnt;
  auto s = walk_growing(GrowingInput{(*w)->base(), (*w)->reserved(), w->get()}, StreamLocation{}, WalkOptions{}, both, nullptr, &learnt);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_TRUE(hasher.finish().ok());
  EXPECT_EQ(summary_text(*s), mapped.summary);
  EXPECT_SAME_LOG(log.text, mapped.log);
  EXPECT_SAME_LOG(log.ram, mapped.ram);
  // Most of it was freed on the way.
  EXPECT_GT((*w)->freed(), bytes.size() / 2);
  // The block's hash equals the hash of the pages put in.
  ASSERT_TRUE(hasher.complete(0));
  std::vector<std::byte> page(4096);
  XXH3_state_t* st = XXH3_createState();
  XXH3_128bits_reset(st);
  for (std::uint64_t i = 0; i < kPages; ++i) {
    std::memset(page.data(), i % 5 == 3 ? 0 : static_cast<int>(static_cast<std::uint8_t>(i * 7 + (i >> 8))), page.size());
    XXH3_128bits_update(st, page.data(), page.size());
  }
  const XXH128_hash_t want = XXH3_128bits_digest(st);
  XXH3_freeState(st);
  EXPECT_TRUE(XXH128_isEqual(hasher.block_hash(0), want));
}

// A reader that asks for far more than where it is (a 250 MiB body to skip,
// as a length field may claim): the window frees as it fills, so memory
// stays bounded, and what lies just before the asked end is there.
TEST(StreamWindow, AFarRequestDoesNotKeepEverythingBeforeIt) {
  std::string data(300u << 20, '\0');
  for (std::size_t i = 0; i < data.size(); i += 4096) data[i] = static_cast<char>(i >> 12);
  auto w = StreamWindow::start(std::make_unique<MemoryReader>(data, 1 << 20), UINT64_MAX, "memory", StreamWindow::Kind::once);
  ASSERT_TRUE(w.ok());
  const std::uint64_t want = 250u << 20;
  ASSERT_GE((*w)->wait_for(want, 0), want);
  EXPECT_GE((*w)->freed(), want - StreamWindow::kKeepHead - 2 * StreamWindow::kAhead - StreamWindow::kKeepBehind - (4u << 20));
  for (std::uint64_t at = want - StreamWindow::kKeepBehind / 2; at < want; at += 4096)
    ASSERT_EQ((*w)->base()[at], static_cast<std::byte>(data[at])) << at;
  // What was freed (its memory moved ahead for the producer to reuse) stays
  // mapped and reads as zeros: a stale read never faults.
  const std::uint64_t stale = StreamWindow::kKeepHead + 40960;
  ASSERT_NE(data[stale], '\0');
  EXPECT_EQ((*w)->base()[stale], std::byte{0});
}

// Through Dump: gzip-compressed corpus streams, including those without
// footers, walked like the bare stream.
TEST(GrowingWalk, CompressedStreamsThroughDumpGiveTheEventsOfTheBareStream) {
  const auto streams = corpus_streams();
  if (streams.empty()) GTEST_SKIP() << "corpus not built";
  const fs::path tmp = fs::path(test::binary_dir()) / "growing-walk-tmp";
  fs::create_directories(tmp);
  int footerless = 0;
  for (const fs::path& p : streams) {
    SCOPED_TRACE(p.filename().string());
    const std::string bytes = test::read_file(p.string());
    const Walked mapped = walk_mapped(bytes);
    if (!mapped.error.empty()) continue;
    const fs::path gz = tmp / (p.filename().string() + ".gz");
    ASSERT_EQ(std::system(("gzip -1 -c '" + p.string() + "' > '" + gz.string() + "'").c_str()), 0);
    auto dump = Dump::open(gz.string());
    ASSERT_TRUE(dump.ok()) << dump.error().message();
    EXPECT_TRUE(dump->description_pending());
    Log log;
    auto s = dump->walk(log);
    ASSERT_TRUE(s.ok()) << s.error().message();
    EXPECT_EQ(summary_text(*s), mapped.summary);
    EXPECT_SAME_LOG(log.text, mapped.log);
    EXPECT_SAME_LOG(log.ram, mapped.ram);
    EXPECT_FALSE(dump->description_pending());
    // Walked again: from the window, now complete, the same.
    Log again;
    ASSERT_TRUE(dump->walk(again).ok());
    EXPECT_SAME_LOG(again.text, mapped.log);
    EXPECT_SAME_LOG(again.ram, mapped.ram);
    // Read once (no temporary file), as info and hash do: the same events.
    auto fresh = Dump::open(gz.string());
    ASSERT_TRUE(fresh.ok());
    Log once_log;
    WalkOptions once;
    once.read_once = true;
    auto o = fresh->walk(once_log, once);
    ASSERT_TRUE(o.ok()) << o.error().message();
    EXPECT_EQ(summary_text(*o), mapped.summary);
    EXPECT_SAME_LOG(once_log.text, mapped.log);
    EXPECT_SAME_LOG(once_log.ram, mapped.ram);
    if (!has_footers(mapped.summary)) ++footerless;
    fs::remove(gz);
  }
  EXPECT_GE(footerless, 2);  // x86_64-q35-7.2-no-footer, x86_64-pc-i440fx-2.0
}

// Cut compressed files of every kind the tools make: an error (truncated,
// naming the compressor and how far the stream got), after every event that
// the bytes before the cut could give. zstd's end inside a frame is seen by
// the frame tracker (Boost's filter alone would call it the end).
TEST(GrowingWalk, CutCompressedFilesAreTruncatedAfterAllTheyHold) {
  const fs::path p = fs::path(test::binary_dir()) / "corpus" / "streams" / "x86_64-q35-7.2.mig";
  if (!fs::exists(p)) GTEST_SKIP() << "corpus not built";
  const fs::path tmp = fs::path(test::binary_dir()) / "growing-walk-tmp";
  fs::create_directories(tmp);
  for (const std::string tool : {"zstd -q", "gzip", "xz", "bzip2"}) {
    SCOPED_TRACE(tool);
    const fs::path c = tmp / "cut.c";
    ASSERT_EQ(std::system((tool + " -c '" + p.string() + "' > '" + c.string() + "'").c_str()), 0);
    const std::string whole = test::read_file(c.string());
    std::size_t last_pages = 0;
    for (int tenth : {3, 6, 9}) {
      const std::string cut = whole.substr(0, whole.size() * tenth / 10);
      {
        std::FILE* f = std::fopen(c.c_str(), "wb");
        std::fwrite(cut.data(), 1, cut.size(), f);
        std::fclose(f);
      }
      auto dump = Dump::open(c.string());
      Error e;
      std::size_t pages = 0;
      if (!dump.ok()) {
        e = dump.error();
      } else {
        Log log;
        WalkOptions once;
        once.read_once = true;
        auto s = dump->walk(log, once);
        ASSERT_FALSE(s.ok()) << tenth;
        e = s.error();
        pages = static_cast<std::size_t>(std::count(log.ram.begin(), log.ram.end(), '\n'));
      }
      EXPECT_EQ(e.code, ErrorCode::truncated) << e.message();
      EXPECT_NE(e.detail.find("cut short"), std::string::npos) << e.message();
      EXPECT_GE(pages, last_pages);  // a longer prefix gives at least as much
      last_pages = pages;
    }
    if (tool != "bzip2") {
      EXPECT_GT(last_pages, 0u);  // bzip2: one 900 kB block holds all of it
    }
  }
}

// A decompression bomb: a zstd-compressed libvirt save declaring a 1 TiB RAM
// block, then zero-page records (9 bytes each, one page re-sent), a few
// hundred kilobytes compressed.
// Reading it stops at the limit (1024 x the compressed size, at least 1 GiB)
// with a clear error (exit 4), in bounded time, never producing 2.4 GB.
TEST(GrowingWalk, ADecompressionBombOfATebibyteOfZeroPagesStopsAtTheLimit) {
  if (std::system("command -v zstd >/dev/null") != 0) GTEST_SKIP() << "no zstd tool";
  const fs::path tmp = fs::path(test::binary_dir()) / "growing-walk-tmp";
  fs::create_directories(tmp);
  const fs::path payload = tmp / "bomb.zst";
  {
    std::FILE* z = ::popen(("zstd -q -1 -c > '" + payload.string() + "'").c_str(), "w");
    ASSERT_NE(z, nullptr);
    test::StreamBuilder head;
    head.header().configuration("pc-q35-7.2");
    head.section_start(2, "ram", 0, 4).ram_mem_size({{"pc.ram", std::uint64_t{1} << 40}}).ram_eos().footer(2);
    head.section_part(2).ram_zero(0, "pc.ram");
    std::fwrite(head.bytes().data(), 1, head.bytes().size(), z);
    // 1.2 GB of CONTINUE zero records for one page, sent again and again
    // (valid: a page may be re-sent), past the 1 GiB limit.
    std::vector<unsigned char> chunk(9 * 8192);
    for (std::size_t i = 0; i < 8192; ++i) {
      const std::uint64_t v = (std::uint64_t{5} << 12) | 0x22;
      for (int b = 0; b < 8; ++b) chunk[9 * i + b] = static_cast<unsigned char>(v >> (56 - 8 * b));
      chunk[9 * i + 8] = 0;
    }
    for (std::uint64_t n = 0; n < (std::uint64_t{1200} << 20); n += chunk.size())
      ASSERT_EQ(std::fwrite(chunk.data(), 1, chunk.size(), z), chunk.size());
    ASSERT_EQ(::pclose(z), 0);
  }
  const std::string compressed = test::read_file(payload.string());
  ASSERT_LT(compressed.size(), std::size_t{1} << 20);  // the limit is then 1 GiB
  // Wrapped as a zstd libvirt save (format 5).
  std::string h(92, '\0');
  std::memcpy(h.data(), "LibvirtQemudSave", 16);
  const std::string xml = "<domain><name>bomb</name></domain>";
  const std::uint32_t fields[5] = {2, static_cast<std::uint32_t>(xml.size()), 0, 5, 0};
  std::memcpy(h.data() + 16, fields, sizeof fields);
  const fs::path save = tmp / "bomb.save";
  {
    std::FILE* f = std::fopen(save.c_str(), "wb");
    const std::string all = h + xml + compressed;
    std::fwrite(all.data(), 1, all.size(), f);
    std::fclose(f);
  }
  for (const char* cmd : {"info", "cat"}) {
    SCOPED_TRACE(cmd);
    std::string out;
    const int rc = test::run_command("timeout 120 " + test::tool_path("migscope") + " " + cmd + " '" + save.string() +
                                         "' 2>&1 >/dev/null",
                                     &out);
    EXPECT_EQ(rc, 4) << out;
    EXPECT_NE(out.find("holds more than 1073741824 bytes of stream"), std::string::npos) << out;
    EXPECT_NE(out.find("decompression bomb"), std::string::npos) << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;  // one line
  }
  fs::remove(payload);
  fs::remove(save);
}

}  // namespace
}  // namespace migscope
