#include "sinks/page_hasher.h"

#include <cstring>

#include <xxhash.h>
#include <xxh_x86dispatch.h>

#include "sinks/inorder_hasher.h"
#include "sinks/page_pipeline.h"

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
char* format_hex64(char* out, std::uint64_t v) {
  for (int i = 15; i >= 0; --i, v >>= 4) out[i] = kHex[v & 0xf];
  return out + 16;
}

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

}  // namespace

Result<std::vector<BlockHashSummary>> hash_pages(Bytes file, const PageIndex& index, const HashOptions& options,
                                                 json::OutBuffer& out, InOrderHasher* first_pass) {
  const std::uint64_t ps = index.page_size();
  std::vector<BlockHashSummary> sums(index.block_count());
  std::vector<std::string> names(index.block_count());
  for (std::size_t i = 0; i < index.block_count(); ++i) {
    sums[i].name = index.block(i).name;
    sums[i].length = index.block(i).length;
    names[i] = json_string(index.block(i).name);
  }
  std::vector<std::byte> zeros(ps);

  // The whole-block XXH3-128 is a stream over the block in order: the consumer
  // feeds it, zeros included for the gaps between sent pages.
  XXH3_state_t* state = XXH3_createState();
  if (!state) return make_error(ErrorCode::io, Error::no_offset, "cannot allocate an XXH3 state");
  std::size_t open_block = SIZE_MAX;
  std::uint64_t fed = 0;  // bytes of the open block fed so far
  auto feed_zeros_to = [&](std::uint64_t until) {
    while (fed < until) {
      std::uint64_t n = std::min<std::uint64_t>(until - fed, ps);
      XXH3_128bits_update(state, zeros.data(), static_cast<std::size_t>(n));
      fed += n;
    }
  };
  auto close_block = [&] {
    if (open_block == SIZE_MAX) return;
    BlockHashSummary& s = sums[open_block];
    if (s.whole_hash) {
      feed_zeros_to(s.length);
      XXH128_hash_t h = XXH3_128bits_digest(state);
      s.hi = h.high64;
      s.lo = h.low64;
    }
    open_block = SIZE_MAX;
  };
  auto begin_block = [&](std::size_t b) {
    open_block = b;
    fed = 0;
    XXH3_128bits_reset(state);
  };
  // The line prefix of each block, formatted once.
  std::vector<std::string> prefixes(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) prefixes[i] = "{\"block\":" + names[i] + ",\"offset\":";
  auto page_line = [&](std::size_t block, std::uint64_t page, std::uint64_t hash) {
    static constexpr char kMid[] = ",\"xxh3\":\"";
    char tail[64];
    char* t = format_u64(tail, page * ps);
    std::memcpy(t, kMid, sizeof kMid - 1);
    t = format_hex64(t + sizeof kMid - 1, hash);
    std::memcpy(t, "\"}\n", 3);
    t += 3;
    out.Write(prefixes[block]);
    out.Write({tail, static_cast<std::size_t>(t - tail)});
    BlockHashSummary& s = sums[block];
    ++s.pages_sent;
    // Pages come in order: a spilled index may trim what lies behind.
    if (page % PageIndex::kChunkPages == 0) index.note_read_chunk(block);
    const std::uint64_t e = index.entry(block, page);
    if (PageEntry::kind(e) == PageEntry::zero && (PageEntry::value(e) & 0xff) == 0) ++s.zero_pages;
  };
  // Blocks the pipeline skips: those the first pass hashed whole (their lines
  // come from its results), and those with no sent page (all zeros).
  std::vector<bool> hashed_already(sums.size(), false);
  std::uint64_t budget = options.whole_hash_budget;
  for (std::size_t i = 0; i < sums.size(); ++i) {
    hashed_already[i] = first_pass && first_pass->complete(i);
    if (hashed_already[i]) continue;
    sums[i].whole_hash = sums[i].length <= budget;
    if (sums[i].whole_hash) budget -= sums[i].length;
  }
  std::size_t next_unopened = 0;
  auto finish_blocks_before = [&](std::size_t b) -> Status {
    close_block();
    for (; next_unopened < b; ++next_unopened) {
      BlockHashSummary& s = sums[next_unopened];
      if (hashed_already[next_unopened]) {
        const std::size_t blk = next_unopened;
        MIGSCOPE_TRY(first_pass->read_page_hashes(blk, [&](std::uint64_t page, std::uint64_t hash) { page_line(blk, page, hash); }));
        XXH128_hash_t h = first_pass->block_hash(next_unopened);
        s.hi = h.high64;
        s.lo = h.low64;
        s.whole_hash = true;
        continue;
      }
      if (!s.whole_hash) continue;
      begin_block(next_unopened);
      close_block();
    }
    return {};
  };

  PagePipeline pipeline(file, index, options.threads);
  pipeline.set_release_behind(options.release_behind);
  pipeline.skip_blocks(hashed_already);
  Status st = pipeline.run(
      [ps](PageBatch& b) -> Status {
        for (std::size_t i = 0; i < b.pages.size(); ++i) b.values[i] = XXH3_64bits(b.content[i], static_cast<std::size_t>(ps));
        return {};
      },
      [&](const PageBatch& b) -> Status {
        if (open_block != b.block) {
          MIGSCOPE_TRY(finish_blocks_before(b.block));
          begin_block(b.block);
          next_unopened = b.block + 1;
        }
        BlockHashSummary& s = sums[b.block];
        const std::uint64_t length = s.length;
        for (std::size_t i = 0; i < b.pages.size(); ++i) {
          const std::uint64_t offset = b.pages[i] * ps;
          page_line(b.block, b.pages[i], b.values[i]);
          if (s.whole_hash) {
            feed_zeros_to(offset);
            std::uint64_t n = std::min<std::uint64_t>(ps, length - offset);  // a block may end mid-page
            XXH3_128bits_update(state, b.content[i], static_cast<std::size_t>(n));
            fed += n;
          }
        }
        return {};
      });
  if (st.ok()) st = finish_blocks_before(sums.size());
  XXH3_freeState(state);
  if (!st.ok()) return std::move(st).error();

  for (const BlockHashSummary& s : sums) {
    out.Write("{\"block\":");
    out.Write(json_string(s.name));
    out.Write(",\"length\":");
    put_u64(out, s.length);
    out.Write(",\"pages\":");
    put_u64(out, s.length / ps + (s.length % ps ? 1 : 0));
    out.Write(",\"pages_sent\":");
    put_u64(out, s.pages_sent);
    out.Write(",\"zero_pages\":");
    put_u64(out, s.zero_pages);
    out.Write(",\"data_pages\":");
    put_u64(out, s.pages_sent - s.zero_pages);
    out.Write(",\"block_xxh128\":");
    if (s.whole_hash) {
      out.Put('"');
      put_hex64(out, s.hi);
      put_hex64(out, s.lo);
      out.Put('"');
    } else {
      out.Write("null");
    }
    out.Write("}\n");
  }
  return sums;
}

}  // namespace migscope
