// libFuzzer target: a whole input file through everything `migscope` does with
// it: locate_stream, the vmdesc trailer, the walker with the state JSON sink,
// the info collector and the page index, then hash_pages, a PageResolver over
// every page, and `state -m` (the memory object written by a nested walk).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "guest/cpu_notes.h"
#include "guest/elf_core.h"
#include "guest/layout.h"
#include "guest/machine_facts.h"
#include "json/py_writer.h"
#include "ram/page_index.h"
#include "sinks/info_report.h"
#include "sinks/memory_json.h"
#include "sinks/page_hasher.h"
#include "sinks/state_json.h"
#include "migscope/stream.h"
#include "vmdesc/vmdesc.h"

namespace {

using namespace migscope;

constexpr std::initializer_list<ErrorCode> kInputErrors = {
    ErrorCode::truncated, ErrorCode::corrupt, ErrorCode::unsupported, ErrorCode::invalid_json, ErrorCode::not_a_stream,
    // The page index reserves address space per block; a hostile block table
    // can exhaust it and that is reported as an I/O error.
    ErrorCode::io};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes file{reinterpret_cast<const std::byte*>(data), size};
  auto loc = locate_stream(file);
  if (!loc.ok()) {
    fuzz::check_error(loc.error(), size, {ErrorCode::not_a_stream, ErrorCode::truncated, ErrorCode::unsupported,
                                          ErrorCode::corrupt});
    return 0;
  }
  if (loc->stream_offset > size) std::abort();
  // A compressed stream or a qcow2 image is not walked in place: Dump::open
  // decompresses or reads it first (the wrapper readers have their own targets).
  if (loc->compression != Compression::none || loc->format == InputFormat::qcow2) {
    StreamVisitor nothing;
    auto refused = walk_stream(file, *loc, {}, nothing);
    if (refused.ok() || refused.error().code != ErrorCode::usage) std::abort();
    return 0;
  }
  std::optional<Vmdesc> vmdesc;
  if (auto trailer = find_vmdesc_trailer(file.subspan(loc->stream_offset), loc->stream_offset)) {
    if (trailer->offset + 5 + trailer->json.size() != size) std::abort();
    auto parsed = Vmdesc::parse(trailer->json, trailer->offset + 5);
    if (parsed.ok())
      vmdesc.emplace(std::move(parsed).value());
    else
      fuzz::check_error(parsed.error(), size, {ErrorCode::invalid_json});
  }
  WalkOptions options;
  options.vmdesc = vmdesc ? &*vmdesc : nullptr;

  // Pass 1: info + page index + state JSON in one walk.
  std::string state_text;
  InfoCollector info;
  PageIndex index(file);
  {
    json::OutBuffer out(&state_text);
    json::PyWriter w(out);
    StateJsonSink state(w);
    state.begin();
    guest::MachineFactsCollector facts;
    StreamFanout fan({&info, &index, &state, &facts});
    auto summary = walk_stream(file, *loc, options, fan);
    if (!summary.ok()) {
      fuzz::check_error(summary.error(), size, kInputErrors);
      return 0;
    }
    state.finish();
    if (summary->end_offset > size) std::abort();
    for (const auto& s : info.sections)
      if (s.offset > size || s.size > size - s.offset) std::abort();
    // The guest-physical map and the ELF headers vmcore would write: ranges
    // ascending, disjoint, inside their blocks; hostile device state only
    // moves them.
    auto layout = guest::compute_layout(facts.facts(), {});
    if (layout.ok()) {
      std::uint64_t end = 0;
      for (const GuestRange& r : layout->ranges) {
        if (r.length == 0 || r.paddr < end || r.block_index >= facts.facts().blocks.size()) std::abort();
        const std::uint64_t blen = facts.facts().blocks[r.block_index].length;
        if (r.block_offset > blen || r.length > blen - r.block_offset) std::abort();
        end = r.paddr + r.length;
        if (end < r.paddr) std::abort();
      }
      guest::CoreNotes notes = guest::cpu_notes(*layout, facts.facts());
      for (const GuestRange& r : layout->ranges) notes.core.loads.push_back({r.paddr, r.length, 0});
      const auto head = guest::elf_headers(notes.core);
      if (head.size() != guest::elf_headers_size(notes.core.class64, notes.core.loads.size(), notes.core.notes)) std::abort();
    } else {
      fuzz::check_error(layout.error(), size, {ErrorCode::unsupported});
    }
  }

  // Pass 2: hashes (bounded whole-block hashing: hostile lengths are a known cost).
  {
    std::string lines;
    json::OutBuffer out(&lines);
    PageHashOptions ho;
    ho.threads = 1;
    ho.whole_hash_budget = std::uint64_t{1} << 24;
    auto sums = hash_pages(file, index, ho, out);
    if (!sums.ok()) fuzz::check_error(sums.error(), size, kInputErrors);
  }

  // Every page through a resolver.
  {
    PageResolver resolver(file, index);
    std::vector<std::byte> scratch(static_cast<std::size_t>(index.page_size()));
    std::uint64_t budget = 1u << 16;
    for (std::size_t b = 0; b < index.block_count() && budget; ++b) {
      const std::uint64_t pages = index.block(b).pages;
      for (std::uint64_t chunk = 0; chunk < index.chunk_count(b) && budget; ++chunk) {
        if (!index.chunk_touched(b, chunk)) continue;
        for (std::uint64_t p = chunk * PageIndex::kChunkPages; p < pages && p < (chunk + 1) * PageIndex::kChunkPages; ++p) {
          std::uint64_t e = index.entry(b, p);
          if (PageEntry::kind(e) == PageEntry::none) continue;
          --budget;
          auto content = resolver.resolve(e, scratch.data());
          if (!content.ok()) {
            fuzz::check_error(content.error(), size, kInputErrors);
            continue;
          }
          volatile std::byte sink = (*content)[index.page_size() - 1];
          (void)sink;
        }
      }
    }
  }

  // Pass 3: `state -m`: the memory object is written by a nested walk.
  {
    std::string text;
    json::OutBuffer out(&text);
    json::PyWriter w(out);
    StateJsonSink state(w);
    state.set_memory_writer([&](json::PyWriter& writer) -> Status {
      MemoryJson memory(writer, file, index);
      auto r = walk_stream(file, *loc, options, memory);
      if (!r.ok()) return std::move(r).error();
      return {};
    });
    state.begin();
    auto again = walk_stream(file, *loc, options, state);
    if (!again.ok())
      fuzz::check_error(again.error(), size, kInputErrors);
    else
      state.finish();
  }
  return 0;
}
