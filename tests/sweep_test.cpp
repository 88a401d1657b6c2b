// Sweeps over every corpus stream (issue 6, "Proof"): truncation at every
// section and command boundary and at spread offsets inside payloads, and
// single-byte corruption (xor 0xff, set 0x00, set 0x7e) at spread and
// structural offsets. Every case runs the library the way `migscope state`,
// `info` and `hash` do (trailer, vmdesc, walk with the state JSON sink, the
// info collector and the page index, then every page hashed) and must end in
// success or in a clean error: a known code, an offset inside the input, one
// line naming it. A watchdog aborts the run (naming the case) if one case
// hangs; each case must also finish within a time bound.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "input/input.h"
#include "json/py_writer.h"
#include "ram/page_index.h"
#include "sinks/info_report.h"
#include "sinks/page_hasher.h"
#include "sinks/state_json.h"
#include "migscope/stream.h"
#include "test_paths.h"
#include "vmdesc/vmdesc.h"
#include "migscope/ops.h"

namespace migscope {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// One case may not take longer than this (the whole sweep runs in seconds).
constexpr double kCaseSeconds = 2.0;
// Per stream and sweep, cases stop once they used this much CPU time (they
// run in an order where every prefix is spread over the whole file), so the
// sweep stays well under a minute; in a release build most streams finish
// all their cases, the slowest (ppc64: ~70 ms per walk) do a spread subset.
constexpr double kStreamBudgetSeconds = 0.75;

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
// A case still running after this long is a hang: abort and name it.
constexpr auto kHangAfter = std::chrono::seconds(20);

std::vector<fs::path> corpus_streams() {
  std::vector<fs::path> out;
  fs::path root = fs::path(test::binary_dir()) / "corpus";
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(root, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file() || it->path().extension() != ".mig") continue;
    // The guests of GiBs in corpus/vmcore (PCI-hole layouts) send ~10^6 zero
    // page records: every case hashes GiBs, 4-9 s under ASan, for no format
    // feature the other streams lack. vmcore_test covers them.
    const std::string name = it->path().filename().string();
    if (name == "x86_64-pc-7.2-3584m.mig" || name == "x86_64-q35-7.2-3g.mig" || name == "x86_64-pc-7.2-below4g-2g.mig")
      continue;
    out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::byte> load(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(raw.size());
  std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

// Aborts the process, naming the case, if a case runs longer than kHangAfter.
class Watchdog {
 public:
  Watchdog() : thread_([this] { loop(); }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> l(m_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void begin(std::string name) {
    std::lock_guard<std::mutex> l(m_);
    name_ = std::move(name);
    deadline_ = Clock::now() + kHangAfter;
    armed_ = true;
    cv_.notify_all();
  }
  void end() {
    std::lock_guard<std::mutex> l(m_);
    armed_ = false;
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> l(m_);
    while (!stop_) {
      if (armed_ && Clock::now() > deadline_) {
        std::fprintf(stderr, "sweep: case '%s' hangs (> %lld s); aborting\n", name_.c_str(),
                     static_cast<long long>(kHangAfter.count()));
        std::fflush(stderr);
        std::abort();
      }
      cv_.wait_for(l, std::chrono::milliseconds(200));
    }
  }
  std::mutex m_;
  std::condition_variable cv_;
  std::string name_;
  Clock::time_point deadline_{};
  bool armed_ = false, stop_ = false;
  std::thread thread_;
};

// The vmdesc of the intact file, reused by cases that leave its bytes alone.
struct CachedVmdesc {
  std::uint64_t offset = 0;  // of the 0x06 byte
  std::size_t json_size = 0;
  std::optional<Vmdesc> vmdesc;
};

// What one case ended with.
struct Outcome {
  bool ok = false;
  Error error;
  std::string stage;
};

// Run one input through locate, trailer, vmdesc, walk (state + info + index)
// and hash. `untouched_before`: the bytes from this offset on are those of
// the intact file (a cached vmdesc for a trailer lying there may be reused).
Outcome run_case(Bytes file, const CachedVmdesc& cache, std::uint64_t untouched_from) {
  Outcome out;
  auto fail = [&](const char* stage, Error e) {
    out.ok = false;
    out.stage = stage;
    out.error = std::move(e);
    return out;
  };
  auto loc = locate_stream(file);
  if (!loc.ok()) return fail("locate_stream", loc.error());
  std::optional<Vmdesc> own;
  const Vmdesc* vmdesc = nullptr;
  if (auto trailer = find_vmdesc_trailer(file.subspan(loc->stream_offset), loc->stream_offset)) {
    if (cache.vmdesc && trailer->offset == cache.offset && trailer->json.size() == cache.json_size &&
        trailer->offset >= untouched_from) {
      vmdesc = &*cache.vmdesc;
    } else {
      auto parsed = Vmdesc::parse(trailer->json, trailer->offset + 5);
      if (!parsed.ok()) return fail("vmdesc", parsed.error());  // as open_stream: a broken trailer is an error
      own.emplace(std::move(parsed).value());
      vmdesc = &*own;
    }
  }
  WalkOptions options;
  options.vmdesc = vmdesc;
  std::string state_text;
  InfoCollector info;
  PageIndex index(file);
  {
    json::OutBuffer buf(&state_text);
    json::PyWriter w(buf);
    StateJsonSink state(w);
    state.begin();
    StreamFanout fan({&info, &index, &state});
    auto summary = walk_stream(file, *loc, options, fan);
    if (!summary.ok()) return fail("walk", summary.error());
    state.finish();
  }
  std::string lines;
  json::OutBuffer buf(&lines);
  PageHashOptions ho;
  ho.threads = 1;
  // Whole-block hashes cost the declared block length (zeros included): for
  // the GiB guests of corpus/vmcore that is seconds per case under ASan, and
  // says nothing about damage. The sweep bounds it (blocks beyond get null).
  ho.whole_hash_budget = std::uint64_t{1} << 30;
  auto sums = hash_pages(file, index, ho, buf);
  if (!sums.ok()) return fail("hash", sums.error());
  out.ok = true;
  return out;
}

bool acceptable_code(ErrorCode c) {
  return c == ErrorCode::truncated || c == ErrorCode::corrupt || c == ErrorCode::unsupported ||
         c == ErrorCode::invalid_json || c == ErrorCode::not_a_stream;
}

struct Stream {
  fs::path path;
  std::vector<std::byte> bytes;
  CachedVmdesc cache;
  InfoCollector info;  // of the intact walk
  bool walked = false;
};

Stream prepare(const fs::path& p) {
  Stream s;
  s.path = p;
  s.bytes = load(p);
  Bytes file{s.bytes.data(), s.bytes.size()};
  auto loc = locate_stream(file);
  if (!loc.ok()) return s;
  if (auto trailer = find_vmdesc_trailer(file.subspan(loc->stream_offset), loc->stream_offset)) {
    auto parsed = Vmdesc::parse(trailer->json, trailer->offset + 5);
    if (parsed.ok()) {
      s.cache.offset = trailer->offset;
      s.cache.json_size = trailer->json.size();
      s.cache.vmdesc.emplace(std::move(parsed).value());
    }
  }
  WalkOptions options;
  options.vmdesc = s.cache.vmdesc ? &*s.cache.vmdesc : nullptr;
  s.walked = walk_stream(file, *loc, options, s.info).ok();
  return s;
}

class Sweep {
 public:
  explicit Sweep(const Stream& s) : s_(s) {}

  void check(const std::string& what, Bytes input, std::uint64_t untouched_from) {
    const std::string name = s_.path.filename().string() + " " + what;
    dog_.begin(name);
    auto t0 = Clock::now();
    double cpu0 = thread_cpu_seconds();
    Outcome o = run_case(input, s_.cache, untouched_from);
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    cpu_ += thread_cpu_seconds() - cpu0;
    dog_.end();
    ++cases_;
    seconds_ += secs;
    if (secs > kCaseSeconds) report(name + ": took " + std::to_string(secs) + " s (bound " + std::to_string(kCaseSeconds) + " s)");
    if (o.ok) return;
    const Error& e = o.error;
    std::string msg = e.message();
    if (!acceptable_code(e.code))
      report(name + ": " + o.stage + " failed with code '" + std::string(error_code_name(e.code)) + "': " + msg);
    if (e.has_offset() && e.offset > input.size())
      report(name + ": " + o.stage + " error offset 0x" + hex(e.offset) + " beyond the input (0x" + hex(input.size()) + "): " + msg);
    if (e.detail.empty() || std::any_of(msg.begin(), msg.end(), [](char ch) {
          auto c = static_cast<unsigned char>(ch);
          return c < 0x20 || c == 0x7f;
        }))
      report(name + ": " + o.stage + " error is not one printable line (the CLI prints it as is): '" + printable(msg) + "'");
    if (e.has_offset() && msg.find("at 0x") == std::string::npos)
      report(name + ": " + o.stage + " error with an offset does not say 'at 0x': " + msg);
  }

  std::size_t cases() const { return cases_; }
  bool exhausted() const { return cpu_ > kStreamBudgetSeconds; }
  double seconds() const { return seconds_; }

 private:
  static std::string hex(std::uint64_t v) {
    char b[24];
    std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(v));
    return b;
  }
  static std::string printable(const std::string& m) {
    std::string out;
    for (unsigned char c : m.substr(0, 300)) {
      if (c < 0x20 || c == 0x7f) {
        char b[8];
        std::snprintf(b, sizeof b, "\\x%02x", c);
        out += b;
      } else {
        out += static_cast<char>(c);
      }
    }
    return out;
  }
  void report(const std::string& line) {
    if (++failures_ <= 20) ADD_FAILURE() << line;
  }
  const Stream& s_;
  Watchdog dog_;
  std::size_t cases_ = 0, failures_ = 0;
  double seconds_ = 0, cpu_ = 0;
};

// Offsets spread over [lo, hi): n of them, deterministic.
std::vector<std::uint64_t> spread(std::uint64_t lo, std::uint64_t hi, std::size_t n, std::uint64_t salt) {
  std::vector<std::uint64_t> out;
  if (hi <= lo) return out;
  std::uint64_t span = hi - lo;
  std::uint64_t x = 0x9e3779b97f4a7c15ull ^ salt;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    // Stratified: one offset in each of n equal slices, jittered inside it.
    std::uint64_t slice_lo = lo + span * i / n, slice_hi = lo + span * (i + 1) / n;
    out.push_back(slice_hi > slice_lo ? slice_lo + x % (slice_hi - slice_lo) : slice_lo);
  }
  return out;
}

// `v` reordered so that every prefix is spread over all of it (bit-reversed
// indices), for sweeps that may stop early on their time budget.
template <typename T>
std::vector<T> spread_order(const std::vector<T>& v) {
  std::size_t bits = 0;
  while ((std::size_t{1} << bits) < v.size()) ++bits;
  std::vector<T> out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < (std::size_t{1} << bits); ++i) {
    std::size_t r = 0;
    for (std::size_t b = 0; b < bits; ++b)
      if (i & (std::size_t{1} << b)) r |= std::size_t{1} << (bits - 1 - b);
    if (r < v.size()) out.push_back(v[r]);
  }
  return out;
}

void maxrss_bound(const char* what) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  // ru_maxrss is in KiB. The largest corpus stream is ~23 MB; everything a
  // case builds is bounded by the input, so the process stays far below this.
  EXPECT_LT(ru.ru_maxrss, 2L * 1024 * 1024) << what << ": peak resident set " << ru.ru_maxrss << " KiB";
}

TEST(Sweep, CorpusIsThere) {
  auto streams = corpus_streams();
  if (streams.empty()) GTEST_SKIP() << "no decompressed corpus under " << test::binary_dir() << "/corpus";
  EXPECT_GE(streams.size(), 20u);
  for (const auto& p : streams) {
    Stream s = prepare(p);
    EXPECT_TRUE(s.walked) << p << " does not walk cleanly intact";
  }
}

TEST(Sweep, TruncationAtBoundariesAndInsidePayloads) {
  auto streams = corpus_streams();
  if (streams.empty()) GTEST_SKIP() << "no decompressed corpus";
  std::size_t total = 0;
  for (const auto& p : streams) {
    Stream s = prepare(p);
    Sweep sweep(s);
    const std::uint64_t size = s.bytes.size();
    std::vector<std::uint64_t> cuts = {0, 1, 4, 7, 8, 9, size - 1};
    for (const auto& r : s.info.sections) {
      for (std::uint64_t o : {r.offset, r.offset + 1, r.offset + 5, r.offset + r.size - r.body_size - (r.has_footer ? 5 : 0),
                              r.offset + r.size - 1, r.offset + r.size - 4, r.offset + r.size})
        cuts.push_back(o);
    }
    for (const auto& c : s.info.commands)
      for (std::uint64_t o : {c.offset, c.offset + 3, c.offset + 5u + c.length}) cuts.push_back(o);
    if (s.cache.vmdesc)
      for (std::uint64_t o : {s.cache.offset, s.cache.offset + 1, s.cache.offset + 5, s.cache.offset + 6,
                              s.cache.offset + 5 + s.cache.json_size / 2})
        cuts.push_back(o);
    // Inside payloads: the biggest sections (RAM parts, device state) and everywhere.
    for (std::uint64_t o : spread(0, size, 50, size)) cuts.push_back(o);
    for (const auto& r : s.info.sections)
      if (r.size > 4096)
        for (std::uint64_t o : spread(r.offset, r.offset + r.size, 4, r.offset)) cuts.push_back(o);
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    for (std::uint64_t cut : spread_order(cuts)) {
      if (cut >= size) continue;
      if (sweep.exhausted()) break;
      // A separate allocation of exactly `cut` bytes, so ASan sees any read past the end.
      std::vector<std::byte> prefix(s.bytes.begin(), s.bytes.begin() + static_cast<std::ptrdiff_t>(cut));
      sweep.check("truncated at 0x" + std::to_string(cut), Bytes{prefix.data(), prefix.size()}, cut);
    }
    total += sweep.cases();
    if (std::getenv("MIGSCOPE_SWEEP_VERBOSE"))
      std::printf("[ sweep    ] %s: %zu cases, %.2f s\n", p.filename().c_str(), sweep.cases(), sweep.seconds());
  }
  std::printf("[ sweep    ] %zu truncation cases over %zu streams\n", total, streams.size());
  maxrss_bound("truncation sweep");
}

TEST(Sweep, SingleByteCorruption) {
  auto streams = corpus_streams();
  if (streams.empty()) GTEST_SKIP() << "no decompressed corpus";
  std::size_t total = 0;
  for (const auto& p : streams) {
    Stream s = prepare(p);
    Sweep sweep(s);
    const std::uint64_t size = s.bytes.size();
    // ~200 offsets: half spread over the file, half on structure (section
    // headers and footers, command headers, the trailer's header and JSON).
    std::vector<std::uint64_t> at = spread(0, size, 100, size * 7);
    std::vector<std::uint64_t> structural = {0, 3, 7, 8, 12};
    for (const auto& r : s.info.sections) {
      const std::uint64_t body = r.offset + r.size - r.body_size - (r.has_footer ? 5 : 0);
      for (std::uint64_t o : {r.offset, r.offset + 4, r.offset + 5, body - 1, body, body + 1, body + 8,
                              r.offset + r.size - 5, r.offset + r.size - 1})
        structural.push_back(o);
    }
    for (const auto& c : s.info.commands)
      for (std::uint64_t o : {c.offset, c.offset + 2, c.offset + 4, c.offset + 5}) structural.push_back(o);
    if (s.cache.vmdesc) {
      for (std::uint64_t o : {s.cache.offset, s.cache.offset + 1, s.cache.offset + 4, s.cache.offset + 5})
        structural.push_back(o);
      for (std::uint64_t o : spread(s.cache.offset + 5, size, 20, 3)) structural.push_back(o);
    }
    std::sort(structural.begin(), structural.end());
    structural.erase(std::unique(structural.begin(), structural.end()), structural.end());
    // Keep ~100 structural offsets, evenly chosen.
    const std::size_t keep = std::min<std::size_t>(structural.size(), 100);
    for (std::size_t i = 0; i < keep; ++i) at.push_back(structural[i * structural.size() / keep]);
    std::sort(at.begin(), at.end());
    at.erase(std::unique(at.begin(), at.end()), at.end());

    std::vector<std::byte> work = s.bytes;
    for (std::uint64_t o : spread_order(at)) {
      if (o >= size) continue;
      if (sweep.exhausted()) break;
      const std::byte orig = work[o];
      for (int kind = 0; kind < 3; ++kind) {
        std::byte v = kind == 0 ? (orig ^ std::byte{0xff}) : kind == 1 ? std::byte{0x00} : std::byte{0x7e};
        if (v == orig) continue;
        work[o] = v;
        static const char* const kNames[] = {"xor 0xff", "set 0x00", "set 0x7e"};
        sweep.check(std::string(kNames[kind]) + " at " + std::to_string(o), Bytes{work.data(), work.size()}, o + 1);
      }
      work[o] = orig;
    }
    total += sweep.cases();
    if (std::getenv("MIGSCOPE_SWEEP_VERBOSE"))
      std::printf("[ sweep    ] %s: %zu cases, %.2f s\n", p.filename().c_str(), sweep.cases(), sweep.seconds());
  }
  std::printf("[ sweep    ] %zu corruption cases over %zu streams\n", total, streams.size());
  maxrss_bound("corruption sweep");
}


// ---- every subcommand on damaged real inputs, wrappers included -------------
//
// Every corpus stream and every wrapped input of corpus/wrapped (libvirt
// saves raw, compressed and sparse, compressed dumps, qcow2 images) is cut at
// >= 100 points and corrupted at >= 100 points (a bit flipped, 16 bytes
// zeroed, 4 bytes set to 0xff as a length at its maximum), and each damaged
// file goes through the library call of every subcommand: open, info, state,
// desc, hash, extract, cat, vmcore, report, diff against the intact input,
// check (the trailer) and check --against (load facts). A cut file must be an
// error in every one; a corrupted one may read (a flipped bit in a page is
// still a stream) but an error is a clean value. A failing command leaves no
// output behind. Every command must end within a time bound.

constexpr double kCommandSeconds = 5.0;

// Under AddressSanitizer every run costs ~4x: the sanitizer build (which CI
// also runs) does 30 + 30 damaged copies per input, the release build 100 + 100.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t kDamagePoints = 30;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr std::size_t kDamagePoints = 30;
#else
constexpr std::size_t kDamagePoints = 100;
#endif
#else
constexpr std::size_t kDamagePoints = 100;
#endif

struct DamageInput {
  fs::path path;
  bool wrapped = false;     // a libvirt save, compressed dump or qcow2 image
  std::string snapshot;     // of a qcow2 image with several VM states
};

void PrintTo(const DamageInput& in, std::ostream* os) { *os << in.path.string(); }

std::vector<DamageInput> damage_inputs() {
  std::vector<DamageInput> out;
  for (const auto& p : corpus_streams()) {
    const std::string name = p.filename().string();
    // corpus/wrapped's *.stream.mig are the bare streams of its wrappers.
    if (p.parent_path().filename() == "wrapped") continue;
    out.push_back({p, false, {}});
  }
  const fs::path wrapped = fs::path(test::binary_dir()) / "corpus" / "wrapped";
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_directory(wrapped, ec))
    for (const auto& e : fs::directory_iterator(wrapped, ec))
      if (e.is_regular_file() && e.path().extension() != ".mig") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& p : files) out.push_back({p, true, p.filename().string() == "q35-2snaps.qcow2" ? "1" : ""});
  return out;
}

// The 64 KiB chunks of a file that hold a non-zero byte: what write_sparse
// writes, so zero runs of the original stay holes when written back. Found
// once per input rather than for every damaged copy of it.
constexpr std::size_t kSparseChunk = 64 * 1024;

std::vector<std::size_t> data_chunks(const std::vector<std::byte>& bytes) {
  std::vector<std::size_t> out;
  static const std::vector<std::byte> zeros(kSparseChunk);
  for (std::size_t at = 0; at < bytes.size(); at += kSparseChunk) {
    const std::size_t n = std::min(kSparseChunk, bytes.size() - at);
    if (std::memcmp(bytes.data() + at, zeros.data(), n) != 0) out.push_back(at / kSparseChunk);
  }
  return out;
}

// The first `size` bytes of `bytes` as a file, writing only the chunks listed
// in `chunks` (and `extra`, the chunk a corruption touched); the rest are holes.
void write_sparse(const fs::path& to, const std::vector<std::byte>& bytes, std::size_t size,
                  const std::vector<std::size_t>& chunks, std::optional<std::pair<std::size_t, std::size_t>> extra = {}) {
  fs::remove(to);
  const int fd = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << to;
  auto put = [&](std::size_t chunk) {
    const std::size_t at = chunk * kSparseChunk;
    if (at >= size) return;
    const std::size_t n = std::min(kSparseChunk, size - at);
    ASSERT_EQ(::pwrite(fd, bytes.data() + at, n, static_cast<off_t>(at)), static_cast<ssize_t>(n)) << to;
  };
  for (std::size_t c : chunks) put(c);
  if (extra)
    for (std::size_t c = extra->first / kSparseChunk; c * kSparseChunk < extra->first + extra->second; ++c) put(c);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
  ::close(fd);
}

struct CommandOutcome {
  std::optional<Error> error;  // none: success
  bool skipped = false;        // the command does not apply to this input
};

// A subcommand as its library call, on `path`; outputs go under `scratch`.
struct DamageCommand {
  const char* name;
  CommandOutcome (*run)(const std::string& path, const OpenOptions& open, const Dump& intact, const fs::path& scratch);
  const char* output;  // what it writes under scratch, or nullptr
};

template <typename T>
CommandOutcome outcome_of(const Result<T>& r) {
  return r.ok() ? CommandOutcome{} : CommandOutcome{r.error()};
}
CommandOutcome outcome_of(const Status& r) { return r.ok() ? CommandOutcome{} : CommandOutcome{r.error()}; }

#define MIGSCOPE_OPEN_OR_RETURN(dump, path, open) \
  auto dump##_r = Dump::open(path, open);        \
  if (!dump##_r.ok()) return CommandOutcome{dump##_r.error()}; \
  const Dump& dump = *dump##_r

const DamageCommand kDamageCommands[] = {
    {"open", [](const std::string& path, const OpenOptions& open, const Dump&, const fs::path&) {
       return outcome_of(Dump::open(path, open));
     }, nullptr},
    {"info", [](const std::string& path, const OpenOptions& open, const Dump&, const fs::path&) {
       MIGSCOPE_OPEN_OR_RETURN(d, path, open);
       ops::InfoReport r = ops::info(d);
       return r.damage ? CommandOutcome{*r.damage} : CommandOutcome{};
     }, nullptr},
    {"state", [](const std::string& path, const OpenOptions& open, const Dump&, const fs::path&) {
       MIGSCOPE_OPEN_OR_RETURN(d, path, open);
       std::string text;
       return outcome_of(ops::state(d, ops::StateOptions{}, ops::TextOutput::to_string(text)));
     }, nullptr},
    {"desc", [](const std::string& path, const OpenOptions& open, const Dump&, const fs::path&) {
       MIGSCOPE_OPEN_OR_RETURN(d, path, open);
       std::string text;
       return outcome_of(ops::desc(d, ops::TextOutput::to_string(text)));
     }, nullptr},
    {"hash", [](const std::string& path, const OpenOptions& open, const Dump&, const fs::path&) {
       MIGSCOPE_OPEN_OR_RETURN(d, path, open);
       std::string text;
       ops::HashOptions o;
       o.whole_hash_budget = std::uint64_t{1} << 30;
       return outcome_of(ops::hash(d, o, ops::TextOutput::to_string(text)));
     }, nullptr},
    {"extract", [](const std::string& path, const OpenOptions& open, const Dump&, const fs::path& scratch) {
       MIGSCOPE_OPEN_OR_RETURN(d, path, open);
       ops::ExtractOptions o;
       o.dir = (scratch / "extract").string();
       return outcome_of(ops::extract(d, o));
     }, "extract"},
    {"cat", [](const std::string& path, const OpenOptions& open, const Dump&, const fs::path& scratch) {
       MIGSCOPE_OPEN_OR_RETURN(d, path, open);
       ops::CatOptions o;
       o.output = (scratch / "cat.mig").string();
       std::string text;
       return outcome_of(ops::cat(d, o, ops::TextOutput::to_string(text)));
     }, "cat.mig"},
    {"vmcore", [](const std::string& path, const OpenOptions& open, const Dump&, const fs::path& scratch) {
       MIGSCOPE_OPEN_OR_RETURN(d, path, open);
       ops::VmcoreOptions o;
       o.output = (scratch / "vmcore").string();
       return outcome_of(ops::vmcore(d, o));
     }, "vmcore"},
    {"report", [](const std::string& path, const OpenOptions& open, const Dump&, const fs::path& scratch) {
       MIGSCOPE_OPEN_OR_RETURN(d, path, open);
       ops::ReportOptions o;
       o.output = (scratch / "report.html").string();
       return outcome_of(ops::report(d, o));
     }, "report.html"},
    {"diff", [](const std::string& path, const OpenOptions& open, const Dump& intact, const fs::path&) {
       MIGSCOPE_OPEN_OR_RETURN(d, path, open);
       ops::DiffInput a{&d, {}, "damaged"}, b{&intact, {}, "intact"};
       ops::DiffOptions o;
       o.parallel = false;
       return outcome_of(ops::diff(a, b, o));
     }, nullptr},
    {"check", [](const std::string& path, const OpenOptions& open, const Dump&, const fs::path&) {
       if (!open.snapshot.empty()) return CommandOutcome{{}, true};  // check names no snapshot
       return outcome_of(ops::load_vmstate(path));
     }, nullptr},
    {"check --against", [](const std::string& path, const OpenOptions& open, const Dump&, const fs::path&) {
       MIGSCOPE_OPEN_OR_RETURN(d, path, open);
       return outcome_of(ops::load_facts(d));
     }, nullptr},
};

class DamageSweep : public ::testing::TestWithParam<DamageInput> {};

TEST_P(DamageSweep, EveryCommandOnCutAndCorruptedCopies) {
  const DamageInput& in = GetParam();
  const std::vector<std::byte> whole = load(in.path);
  ASSERT_FALSE(whole.empty()) << in.path;
  OpenOptions open;
  open.snapshot = in.snapshot;
  auto intact = Dump::open(in.path.string(), open);
  ASSERT_TRUE(intact.ok()) << intact.error().message();
  const fs::path scratch = fs::temp_directory_path() / ("migscope-damage-" + std::to_string(::getpid()) + "-" +
                                                        in.path.filename().string());
  fs::remove_all(scratch);
  fs::create_directories(scratch);
  const fs::path case_file = scratch / ("case" + in.path.extension().string());

  // What each command gives on the intact input: a damaged copy may fail
  // with that same code (vmcore of a machine with no known memory map).
  std::vector<std::optional<ErrorCode>> intact_code;
  for (const auto& c : kDamageCommands) {
    CommandOutcome o = c.run(in.path.string(), open, *intact, scratch);
    intact_code.push_back(o.error ? std::optional<ErrorCode>(o.error->code) : std::nullopt);
    if (c.output) fs::remove_all(scratch / c.output);
  }

  // Where the stream itself ends in the file: bytes after it (a raw libvirt
  // save's padding) are not part of it, and cutting them truncates nothing.
  std::uint64_t end = whole.size();
  const StreamLocation& loc = intact->location();
  if (loc.compression == Compression::none && loc.format != InputFormat::qcow2) {
    const ops::InfoReport r = ops::info(*intact);
    ASSERT_FALSE(r.damage) << r.damage->message();
    if (r.summary.end_offset > 0 && r.summary.end_offset < end) end = r.summary.end_offset;
  }

  // >= 100 cuts: spread over the file, and dense where structure is (the
  // first 4 KiB: headers, tables; the last 4 KiB: EOF, the trailer).
  auto points = [](std::uint64_t size, std::uint64_t salt, std::size_t want) {
    std::vector<std::uint64_t> at;
    for (std::size_t n = want * 3 / 4; n < 4096; n += 8) {
      at.clear();
      for (std::uint64_t o : spread(0, size, n, size * salt)) at.push_back(o);
      for (std::uint64_t o : spread(0, std::min<std::uint64_t>(size, 4096), kDamagePoints / 7, salt + 1)) at.push_back(o);
      for (std::uint64_t o : spread(size > 4096 ? size - 4096 : 0, size, kDamagePoints / 7, salt + 2)) at.push_back(o);
      for (std::uint64_t o : {std::uint64_t{0}, std::uint64_t{1}, size - 1}) at.push_back(o);
      std::sort(at.begin(), at.end());
      at.erase(std::unique(at.begin(), at.end()), at.end());
      if (at.size() >= want || at.size() >= size) break;
    }
    return at;
  };
  const std::vector<std::uint64_t> cuts = points(end, 1, kDamagePoints);
  // >= 100 corruptions, the same way, from twice as many offsets taken in an
  // order spread over the file: one that changes no byte (zeros over the
  // zeros of a sparse save) is skipped, and the next one taken.
  const std::vector<std::uint64_t> hits = spread_order(points(whole.size(), 3, kDamagePoints * 2));

  Watchdog dog;
  std::size_t cases = 0, runs = 0, failures = 0, guessed = 0, cut_cases = 0;
  auto report = [&](const std::string& line) {
    if (++failures <= 20) ADD_FAILURE() << in.path.filename().string() << " " << line;
  };
  auto run_all = [&](const std::string& what, bool truncated, std::uint64_t size) {
    ++cases;
    for (std::size_t i = 0; i < std::size(kDamageCommands); ++i) {
      const DamageCommand& c = kDamageCommands[i];
      const std::string name = what + " " + c.name;
      dog.begin(in.path.filename().string() + " " + name);
      const auto t0 = Clock::now();
      CommandOutcome o = c.run(case_file.string(), open, *intact, scratch);
      const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      dog.end();
      if (o.skipped) continue;
      ++runs;
      if (secs > kCommandSeconds) report(name + ": took " + std::to_string(secs) + " s");
      if (!o.error) {
        // Opening reads headers only; the commands must find the cut. The
        // one cut no reading can see: a stream with neither footers nor a
        // description (QEMU's pre-2.4 machine types) cut right after a zero
        // byte of its last device sections reads as ending there, since every
        // section end is a guess. That reading carries the guessed-end
        // warning, and a strict one refuses it.
        if (c.output) fs::remove_all(scratch / c.output);
        if (truncated && std::string(c.name) != "open") {
          OpenOptions strict = open;
          strict.strict = true;
          CommandOutcome s = c.run(case_file.string(), strict, *intact, scratch);
          if (!s.error || s.error->code != ErrorCode::corrupt)
            report(name + ": a cut input read as complete" + (s.error ? ": strictly " + s.error->message() : ", even strictly"));
          else
            ++guessed;
          if (c.output) fs::remove_all(scratch / c.output);
        }
        continue;
      }
      const Error& e = *o.error;
      const std::string msg = e.message();
      const bool known = e.code == ErrorCode::truncated || e.code == ErrorCode::corrupt ||
                         e.code == ErrorCode::unsupported || e.code == ErrorCode::invalid_json ||
                         e.code == ErrorCode::not_a_stream || (intact_code[i] && *intact_code[i] == e.code);
      if (!known) report(name + ": code '" + std::string(error_code_name(e.code)) + "': " + msg);
      // Offsets of a bare or raw-wrapped stream are file offsets; of a
      // decompressed one, offsets in its decompressed bytes.
      if (e.has_offset() && !in.wrapped && e.offset > size)
        report(name + ": offset 0x" + std::to_string(e.offset) + " beyond the input: " + msg);
      if (e.detail.empty() || msg.find('\n') != std::string::npos || printable(msg) != msg)
        report(name + ": not one printable line: " + printable(msg));
      if (e.has_offset() && msg.find("at 0x") == std::string::npos) report(name + ": no 'at 0x': " + msg);
      if (c.output) {
        std::error_code ec;
        if (fs::exists(scratch / c.output, ec)) report(name + ": failed and left " + c.output);
        fs::remove_all(scratch / c.output);
      }
      // No temporary file left beside the outputs either.
      for (const auto& e2 : fs::directory_iterator(scratch))
        if (e2.path() != case_file) report(name + ": left " + e2.path().filename().string());
    }
  };

  const std::vector<std::size_t> chunks = data_chunks(whole);
  for (std::uint64_t cut : cuts) {
    if (cut >= end) continue;
    write_sparse(case_file, whole, static_cast<std::size_t>(cut), chunks);
    run_all("cut at " + std::to_string(cut), true, cut);
    ++cut_cases;
  }
  std::vector<std::byte> work = whole;
  std::size_t kind = 0;
  for (std::uint64_t at : hits) {
    if (at >= whole.size()) continue;
    if (cases - cut_cases >= kDamagePoints * 5 / 4) break;
    const std::size_t n = std::min<std::size_t>(kind % 3 == 0 ? 1 : kind % 3 == 1 ? 16 : 4, whole.size() - at);
    std::string what;
    if (kind % 3 == 0) {
      work[at] ^= std::byte{static_cast<unsigned char>(1u << (at % 8))};
      what = "bit flip at " + std::to_string(at);
    } else {
      std::memset(work.data() + at, kind % 3 == 1 ? 0x00 : 0xff, n);
      what = (kind % 3 == 1 ? "16 bytes zeroed at " : "4 bytes 0xff at ") + std::to_string(at);
    }
    ++kind;
    const auto from = static_cast<std::ptrdiff_t>(at);
    if (std::equal(work.begin() + from, work.begin() + from + static_cast<std::ptrdiff_t>(n), whole.begin() + from)) continue;
    write_sparse(case_file, work, work.size(), chunks, std::make_pair(static_cast<std::size_t>(at), n));
    run_all(what, false, work.size());
    std::copy(whole.begin() + static_cast<std::ptrdiff_t>(at), whole.begin() + static_cast<std::ptrdiff_t>(at + n),
              work.begin() + static_cast<std::ptrdiff_t>(at));
  }
  fs::remove_all(scratch);
  EXPECT_GE(cut_cases, kDamagePoints) << in.path;
  EXPECT_GE(cases - cut_cases, kDamagePoints) << in.path;
  std::printf("[ damage   ] %s: %zu damaged copies, %zu command runs (%zu cuts seen only by a strict reading)\n",
              in.path.filename().c_str(), cases, runs, guessed);
  maxrss_bound("damage sweep");
}

INSTANTIATE_TEST_SUITE_P(Corpus, DamageSweep, ::testing::ValuesIn(damage_inputs()),
                         [](const ::testing::TestParamInfo<DamageInput>& param) {
                           std::string n =
                               fs::path(param.param.path).lexically_relative(fs::path(test::binary_dir()) / "corpus").string();
                           for (char& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(DamageSweep);

}  // namespace
}  // namespace migscope
