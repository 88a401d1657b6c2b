// migscope hash FILE: XXH3-64 of the final content of every sent page (JSON Lines).
#include <cstdio>

#include <boost/program_options.hpp>

#include "common.h"
#include "json/py_writer.h"
#include "ram/page_index.h"
#include "sinks/inorder_hasher.h"
#include "sinks/page_hasher.h"
#include "stream/open.h"
#include "stream/walker.h"
#include "stream_output.h"
#include "subcommands.h"

namespace po = boost::program_options;

namespace migscope::tools {

int cmd_hash(int argc, char** argv) {
  const std::string prog = "migscope hash";
  std::string file, vmdesc_file;
  unsigned threads = 0;
  po::options_description opts(
      "usage: migscope hash FILE [options]\n\nThe final content of every sent page hashed with XXH3-64, one JSON line per "
      "page\n({\"block\",\"offset\",\"xxh3\"}, block then offset order), then one summary line per block\nwith page counts "
      "and \"block_xxh128\" (XXH3-128 of the whole block, = xxhsum -H128 of its extracted file).\n\noptions");
  opts.add_options()("help,h", "show this help")
      ("threads,j", po::value(&threads), "worker threads (default: all cores); output does not depend on it")
      ("vmdesc", po::value(&vmdesc_file), "device description from this JSON file");
  if (auto done = parse_command_line(argc, argv, prog, opts, file)) return *done;
  if (threads == 0) threads = all_cores();
  if (threads > 256) return report_usage(prog, "--threads must be at most 256");

  auto opened = open_stream(file, vmdesc_file);
  if (!opened.ok()) return report_error(prog, file, opened.error());
  OpenStream& s = opened.value();
  // Pass 1 indexes every page and, where a block arrives in order, hashes it
  // on the way (on a worker thread with -j > 1); pass 2 covers the rest.
  PageIndex index(s.bytes());
  InOrderHasher first_pass(s.bytes(), index, threads > 1, /*release_behind=*/true);
  WalkOptions options;
  options.vmdesc = s.vmdesc ? &*s.vmdesc : nullptr;
  auto summary = walk_stream(s.bytes(), s.location, options, first_pass);
  if (Status st = first_pass.finish(); !st.ok()) return report_error(prog, file, st.error());
  if (!summary.ok()) return report_error(prog, file, summary.error());
  json::OutBuffer out(stdout);
  HashOptions ho;
  ho.threads = threads;
  ho.release_behind = true;
  ho.whole_hash_budget = (std::uint64_t{64} << 30) + 64 * s.file.size();
  auto sums = hash_pages(s.bytes(), index, ho, out, &first_pass);
  out.Flush();
  std::fflush(stdout);
  if (!sums.ok()) return report_error(prog, file, sums.error());
  report_warnings(prog, file, summary.value());
  for (const auto& b : sums.value())
    if (!b.whole_hash)
      std::fprintf(stderr, "%s: %s: note: block '%s' (%llu bytes) is beyond the whole-block hashing budget (64 GiB + 64 x the input); block_xxh128 is null\n",
                   prog.c_str(), file.c_str(), b.name.c_str(), static_cast<unsigned long long>(b.length));
  if (out.failed() || std::ferror(stdout))
    return report_error(prog, file, make_error(ErrorCode::io, Error::no_offset, "cannot write to standard output"));
  return exit_ok;
}

}  // namespace migscope::tools
