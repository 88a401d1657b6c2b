#include "sinks/page_hasher.h"

#include <cstring>

#include <xxhash.h>
#include <xxh_x86dispatch.h>

#include "sinks/inorder_hasher.h"
#include "pipeline/page_pipeline.h"

namespace migscope {

std::string_view xxh3_simd_level() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) return "AVX-512";
  if (__builtin_cpu_supports("avx2")) return "AVX2";
  return "SSE2";
#else
  return "scalar/NEON (portable build)";
#endif
}

namespace {

constexpr char kHex[] = "0123456789abcdef";

// Formatters into a caller's buffer; they return the end of what they wrote.
char* format_u64(char* out, std::uint64_t v) {
  char digits[20];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) *out++ = digits[--n];
  return out;
}

// Two hex digits per byte from one table lookup.
struct HexPairs {
  char pair[256][2];
  constexpr HexPairs() : pair() {
    for (int i = 0; i < 256; ++i) {
      pair[i][0] = kHex[i >> 4];
      pair[i][1] = kHex[i & 0xf];
    }
  }
};
constexpr HexPairs kHexPairs;

char* format_hex64(char* out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) std::memcpy(out + 2 * i, kHexPairs.pair[v & 0xff], 2);
  return out + 16;
}

// A decimal number kept as text that counts up by a fixed step (the page
// size): each line's offset is the last one's plus a page, an add with carry
// over a few digits instead of a conversion.
class DecimalCounter {
 public:
  static constexpr int kDigits = 20;  // UINT64_MAX
  explicit DecimalCounter(std::uint64_t step) {
    for (; step; step /= 10) step_[step_len_++] = static_cast<char>(step % 10);
    digits_[kDigits - 1] = '0';
  }
  char* put(char* out) const {
    std::memcpy(out, digits_ + start_, static_cast<std::size_t>(kDigits - start_));
    return out + (kDigits - start_);
  }
  void step() {
    int carry = 0;
    for (int k = 0; (k < step_len_ || carry) && k < kDigits; ++k) {
      const int i = kDigits - 1 - k;
      const int d = (i >= start_ ? digits_[i] - '0' : 0) + (k < step_len_ ? step_[k] : 0) + carry;
      carry = d >= 10;
      digits_[i] = static_cast<char>('0' + (d - 10 * carry));
      if (i < start_) start_ = i;
    }
  }

 private:
  char digits_[kDigits] = {};
  char step_[kDigits] = {};  // the step's digits, least significant first
  int step_len_ = 0;
  int start_ = kDigits - 1;  // the first digit in use
};

void put_hex64(json::OutBuffer& out, std::uint64_t v) {
  char buf[16];
  out.Write({buf, static_cast<std::size_t>(format_hex64(buf, v) - buf)});
}

void put_u64(json::OutBuffer& out, std::uint64_t v) {
  char buf[20];
  out.Write({buf, static_cast<std::size_t>(format_u64(buf, v) - buf)});
}

// Block names are arbitrary bytes: escape them once per block, like Python's json.
std::string json_string(std::string_view s) {
  std::string out;
  json::append_python_string(out, s);
  return out;
}

// The second pass's consumer: writes the JSON lines of every block in block
// order (taking the lines of blocks the first pass hashed from its results),
// streams the whole-block XXH3-128 of the others (zeros included for the gaps
// between sent pages), then the summary lines.
class HashLineWriter {
 public:
  HashLineWriter(const PageIndex& index, const PageHashOptions& options, json::OutBuffer& out, InOrderHasher* first_pass)
      : index_(index), out_(out), first_pass_(first_pass), listener_(options.listener), ps_(index.page_size()), zeros_(ps_),
        sums_(index.block_count()), prefixes_(index.block_count()), hashed_already_(index.block_count(), false) {
    std::uint64_t budget = options.whole_hash_budget;
    for (std::size_t i = 0; i < sums_.size(); ++i) {
      sums_[i].name = index.block(i).name;
      sums_[i].length = index.block(i).length;
      // The line prefix of each block, formatted once.
      prefixes_[i] = "{\"block\":" + json_string(sums_[i].name) + ",\"offset\":";
      hashed_already_[i] = first_pass_ && first_pass_->complete(i);
      if (hashed_already_[i]) continue;
      sums_[i].whole_hash = sums_[i].length <= budget;
      if (sums_[i].whole_hash) budget -= sums_[i].length;
    }
  }
  ~HashLineWriter() {
    if (state_) XXH3_freeState(state_);
  }
  HashLineWriter(const HashLineWriter&) = delete;
  HashLineWriter& operator=(const HashLineWriter&) = delete;

  Status init() {
    state_ = XXH3_createState();
    if (!state_) return make_error(ErrorCode::io, Error::no_offset, "cannot allocate an XXH3 state");
    return {};
  }
  /// Blocks the pipeline skips: those the first pass hashed whole.
  const std::vector<bool>& hashed_already() const noexcept { return hashed_already_; }

  /// One batch of the pipeline, in order.
  Status consume(const PageBatch& b) {
    if (open_block_ != b.block) {
      MIGSCOPE_TRY(finish_blocks_before(b.block));
      begin_block(b.block);
      next_unopened_ = b.block + 1;
    }
    BlockHashSummary& s = sums_[b.block];
    for (std::size_t i = 0; i < b.pages.size(); ++i) {
      const std::uint64_t offset = b.pages[i] * ps_;
      page_line(b.block, b.pages[i], b.values[i]);
      if (s.whole_hash) {
        feed_zeros_to(offset);
        const std::uint64_t n = std::min<std::uint64_t>(ps_, s.length - offset);  // a block may end mid-page
        XXH3_128bits_update(state_, b.content[i], static_cast<std::size_t>(n));
        fed_ += n;
      }
    }
    return {};
  }

  /// The blocks after the last batch, then one summary line per block.
  Result<std::vector<BlockHashSummary>> finish() {
    MIGSCOPE_TRY(finish_blocks_before(sums_.size()));
    for (const BlockHashSummary& s : sums_) summary_line(s);
    return std::move(sums_);
  }

 private:
  void page_line(std::size_t block, std::uint64_t page, std::uint64_t hash) {
    BlockHashSummary& s = sums_[block];
    ++s.pages_sent;
    // Pages come in order: a spilled index may trim what lies behind.
    if (page % PageIndex::kChunkPages == 0) index_.note_read_chunk(block);
    const std::uint64_t e = index_.entry(block, page);
    const bool zero = PageEntry::kind(e) == PageEntry::zero && (PageEntry::value(e) & 0xff) == 0;
    if (zero) ++s.zero_pages;
    if (listener_) {
      listener_->page(block, page, hash, zero);
      return;
    }
    static constexpr char kMid[] = ",\"xxh3\":\"";
    char tail[64];
    char* t = format_u64(tail, page * ps_);
    std::memcpy(t, kMid, sizeof kMid - 1);
    t = format_hex64(t + sizeof kMid - 1, hash);
    std::memcpy(t, "\"}\n", 3);
    t += 3;
    out_.Write(prefixes_[block]);
    out_.Write({tail, static_cast<std::size_t>(t - tail)});
  }

  void feed_zeros_to(std::uint64_t until) {
    while (fed_ < until) {
      const std::uint64_t n = std::min<std::uint64_t>(until - fed_, ps_);
      XXH3_128bits_update(state_, zeros_.data(), static_cast<std::size_t>(n));
      fed_ += n;
    }
  }
  void begin_block(std::size_t b) {
    open_block_ = b;
    fed_ = 0;
    XXH3_128bits_reset(state_);
  }
  void close_block() {
    if (open_block_ == SIZE_MAX) return;
    BlockHashSummary& s = sums_[open_block_];
    if (s.whole_hash) {
      feed_zeros_to(s.length);
      const XXH128_hash_t h = XXH3_128bits_digest(state_);
      s.hi = h.high64;
      s.lo = h.low64;
    }
    open_block_ = SIZE_MAX;
  }
  // Close the open block, then every block before `b` no batch opened: those
  // the first pass hashed (their lines come from its results) and those with
  // no sent page (all zeros).
  Status finish_blocks_before(std::size_t b) {
    close_block();
    for (; next_unopened_ < b; ++next_unopened_) {
      BlockHashSummary& s = sums_[next_unopened_];
      if (hashed_already_[next_unopened_]) {
        const std::size_t blk = next_unopened_;
        if (listener_) {
          MIGSCOPE_TRY(first_pass_->read_page_hashes(blk, [&](std::uint64_t first, std::span<const std::uint64_t> hashes) {
            for (std::size_t i = 0; i < hashes.size(); ++i) page_line(blk, first + i, hashes[i]);
          }));
        } else {
          MIGSCOPE_TRY(first_pass_lines(blk));
        }
        const XXH128_hash_t h = first_pass_->block_hash(blk);
        s.hi = h.high64;
        s.lo = h.low64;
        s.whole_hash = true;
        continue;
      }
      if (!s.whole_hash) continue;
      begin_block(next_unopened_);
      close_block();
    }
    return {};
  }

  // The lines of a block the first pass hashed whole: every page sent once,
  // in order, so the offsets count up by a page and the zero records were
  // counted there (no index lookup). Formatted a run at a time.
  Status first_pass_lines(std::size_t blk) {
    BlockHashSummary& s = sums_[blk];
    const std::string& prefix = prefixes_[blk];
    DecimalCounter offset(ps_);
    Status st = first_pass_->read_page_hashes(blk, [&](std::uint64_t, std::span<const std::uint64_t> hashes) {
      static constexpr char kMid[] = ",\"xxh3\":\"";
      const std::size_t line_max = prefix.size() + DecimalCounter::kDigits + sizeof kMid + 16 + 3;
      char* p = lines_.data();
      char* const end = lines_.data() + lines_.size();
      for (const std::uint64_t hash : hashes) {
        if (static_cast<std::size_t>(end - p) < line_max) {
          out_.Write({lines_.data(), static_cast<std::size_t>(p - lines_.data())});
          p = lines_.data();
        }
        std::memcpy(p, prefix.data(), prefix.size());
        p = offset.put(p + prefix.size());
        std::memcpy(p, kMid, sizeof kMid - 1);
        p = format_hex64(p + sizeof kMid - 1, hash);
        std::memcpy(p, "\"}\n", 3);
        p += 3;
        offset.step();
      }
      out_.Write({lines_.data(), static_cast<std::size_t>(p - lines_.data())});
    });
    MIGSCOPE_TRY(st);
    s.pages_sent += s.length / ps_ + (s.length % ps_ ? 1 : 0);
    s.zero_pages += first_pass_->zero_pages(blk);
    return {};
  }

  void summary_line(const BlockHashSummary& s) {
    out_.Write("{\"block\":");
    out_.Write(json_string(s.name));
    out_.Write(",\"length\":");
    put_u64(out_, s.length);
    out_.Write(",\"pages\":");
    put_u64(out_, s.length / ps_ + (s.length % ps_ ? 1 : 0));
    out_.Write(",\"pages_sent\":");
    put_u64(out_, s.pages_sent);
    out_.Write(",\"zero_pages\":");
    put_u64(out_, s.zero_pages);
    out_.Write(",\"data_pages\":");
    put_u64(out_, s.pages_sent - s.zero_pages);
    out_.Write(",\"block_xxh128\":");
    if (s.whole_hash) {
      out_.Put('"');
      put_hex64(out_, s.hi);
      put_hex64(out_, s.lo);
      out_.Put('"');
    } else {
      out_.Write("null");
    }
    out_.Write("}\n");
  }

  const PageIndex& index_;
  json::OutBuffer& out_;
  InOrderHasher* first_pass_;
  PageHashListener* listener_;
  const std::uint64_t ps_;
  std::vector<std::byte> zeros_;
  std::vector<BlockHashSummary> sums_;
  std::vector<std::string> prefixes_;
  std::vector<bool> hashed_already_;
  std::vector<char> lines_ = std::vector<char>(std::size_t{1} << 16);  // first_pass_lines' run of lines
  XXH3_state_t* state_ = nullptr;  // the open block's XXH3-128
  std::size_t open_block_ = SIZE_MAX;
  std::uint64_t fed_ = 0;           // bytes of the open block fed so far
  std::size_t next_unopened_ = 0;
};

}  // namespace

Result<std::vector<BlockHashSummary>> hash_pages(Bytes file, const PageIndex& index, const PageHashOptions& options,
                                                 json::OutBuffer& out, InOrderHasher* first_pass) {
  HashLineWriter writer(index, options, out, first_pass);
  MIGSCOPE_TRY(writer.init());
  PagePipeline pipeline(file, index, options.threads);
  pipeline.set_release_behind(options.release_behind);
  pipeline.skip_blocks(writer.hashed_already());
  const std::uint64_t ps = index.page_size();
  MIGSCOPE_TRY(pipeline.run(
      [ps](PageBatch& b) -> Status {
        for (std::size_t i = 0; i < b.pages.size(); ++i) b.values[i] = XXH3_64bits(b.content[i], static_cast<std::size_t>(ps));
        return {};
      },
      [&writer](const PageBatch& b) { return writer.consume(b); }));
  return writer.finish();
}

}  // namespace migscope
