// A tour of migscope's public API: open a migration stream, list its sections,
// hash its RAM and print the largest block's summary. Only <migscope/...>
// headers are used; build it against an installed migscope with
//   find_package(migscope REQUIRED)
//   target_link_libraries(your-program PRIVATE migscope::migscope)
// or: g++ dump_tour.cpp $(pkg-config --cflags --libs --static migscope)
//
// Usage: migscope-example-dump-tour STREAM
#include <cinttypes>
#include <cstdio>
#include <string>

#include "migscope/migscope.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s STREAM\n", argv[0]);
    return 2;
  }

  // Map the file, find the QEMU stream in it (a plain stream or inside a
  // libvirt save image) and load its vmdesc trailer. Errors are values that
  // name the byte offset where they happened; no exception is thrown.
  migscope::Result<migscope::Dump> dump = migscope::Dump::open(argv[1]);
  if (!dump) {
    std::fprintf(stderr, "%s: %s\n", argv[1], dump.error().message().c_str());
    return 1;
  }

  // One walk over the stream, recording every section. A damaged stream is
  // not an error for info: the report says where the walk stopped.
  migscope::ops::InfoReport info = migscope::ops::info(*dump);
  std::printf("migscope %s: %s holds %zu sections\n", migscope::version(), argv[1], info.sections.size());
  for (const migscope::SectionRecord& s : info.sections)
    std::printf("  0x%08" PRIx64 "  %-36s instance %-3" PRIu32 " version %-3" PRIu32 " %8" PRIu64 " bytes\n",
                s.offset, migscope::printable(s.idstr).c_str(), s.instance_id, s.version_id, s.size);
  if (info.damage) std::printf("stopped early: %s\n", info.damage->message().c_str());

  // Hash every sent page's final content. The per-page JSON lines go to a
  // string here (TextOutput::to_file would stream them); the per-block
  // results also come back as values.
  std::string page_lines;
  auto hashed = migscope::ops::hash(*dump, {}, migscope::ops::TextOutput::to_string(page_lines));
  if (!hashed) {
    std::fprintf(stderr, "%s: %s\n", argv[1], hashed.error().message().c_str());
    return 1;
  }

  // The largest RAM block (pc.ram on a PC): how many of its pages the stream
  // sent, and the XXH3-128 of its whole final content (= xxhsum -H128 of the
  // file `migscope extract` writes for it).
  const migscope::BlockHashSummary* largest = nullptr;
  for (const migscope::BlockHashSummary& b : hashed->blocks)
    if (!largest || b.length > largest->length) largest = &b;
  if (!largest) {
    std::printf("no RAM blocks\n");
    return 0;
  }
  const std::uint64_t page_size = hashed->summary.page_size;
  std::printf("largest RAM block %s: %" PRIu64 " bytes, %" PRIu64 " pages of %" PRIu64 ", %" PRIu64
              " sent (%" PRIu64 " zero)\n",
              migscope::printable(largest->name).c_str(), largest->length,
              page_size ? (largest->length + page_size - 1) / page_size : 0, page_size, largest->pages_sent, largest->zero_pages);
  if (largest->whole_hash)
    std::printf("  block_xxh128 %016" PRIx64 "%016" PRIx64 "\n", largest->hi, largest->lo);
  else
    std::printf("  block_xxh128 not computed (beyond the whole-block hashing budget)\n");
  std::printf("  (%zu bytes of per-page hash lines)\n", page_lines.size());
  return 0;
}
