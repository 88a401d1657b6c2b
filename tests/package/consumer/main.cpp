// The packaging test's consumer: includes the public API through the umbrella
// header and through each header by name, walks a stream, and checks what it
// finds against the facts the test computed with `migscope info --json`.
//   consumer STREAM SECTIONS RAM_BLOCKS
#include "migscope/migscope.h"

#include "migscope/bytes.h"
#include "migscope/compat.h"
#include "migscope/error.h"
#include "migscope/events.h"
#include "migscope/input.h"
#include "migscope/ops.h"
#include "migscope/records.h"
#include "migscope/stream.h"
#include "migscope/value.h"
#include "migscope/version.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

// No third-party header may come in through the public ones.
#if defined(RAPIDJSON_VERSION_STRING) || defined(ZLIB_VERSION) || defined(XXH_VERSION_NUMBER) || \
    defined(BOOST_VERSION) || defined(BOOST_CONFIG_HPP)
#error "a public migscope header includes a third-party header"
#endif

namespace {

struct SectionCounter : migscope::StreamVisitor {
  std::uint64_t sections = 0;
  migscope::Status on_section(const migscope::SectionEvent&) override {
    ++sections;
    return {};
  }
};

int fail(const char* what) {
  std::fprintf(stderr, "consumer: %s\n", what);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return fail("usage: consumer STREAM SECTIONS RAM_BLOCKS");
  const std::uint64_t want_sections = std::strtoull(argv[2], nullptr, 10);
  const std::uint64_t want_blocks = std::strtoull(argv[3], nullptr, 10);

  // The library linked is the one whose headers were compiled against.
  if (std::strcmp(migscope::version(), MIGSCOPE_VERSION) != 0) return fail("library and header versions differ");

  auto dump = migscope::Dump::open(argv[1]);
  if (!dump) return fail(dump.error().message().c_str());

  // Through the visitor interface...
  SectionCounter counter;
  auto walked = dump->walk(counter);
  if (!walked) return fail(walked.error().message().c_str());
  // ...and through an operation.
  migscope::ops::InfoReport info = migscope::ops::info(*dump);
  if (info.damage) return fail(info.damage->message().c_str());

  std::printf("consumer: migscope %s, %llu sections walked, %zu in info, %zu RAM blocks (expected %llu and %llu)\n",
              migscope::version(), static_cast<unsigned long long>(counter.sections), info.sections.size(),
              walked->ram_blocks.size(), static_cast<unsigned long long>(want_sections),
              static_cast<unsigned long long>(want_blocks));
  if (want_sections == 0 || counter.sections != want_sections || info.sections.size() != want_sections)
    return fail("section count differs from migscope info --json");
  if (walked->ram_blocks.size() != want_blocks || info.summary.ram_blocks.size() != want_blocks)
    return fail("RAM block count differs from migscope info --json");
  return 0;
}
