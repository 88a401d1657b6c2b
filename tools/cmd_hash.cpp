// migscope hash FILE: XXH3-64 of the final content of every sent page (JSON Lines).
#include <cstdio>
#include <optional>

#include <boost/program_options.hpp>

#include "common.h"
#include "progress.h"
#include "migscope/ops.h"
#include "stream_output.h"
#include "subcommands.h"

namespace po = boost::program_options;

namespace migscope::tools {

int cmd_hash(int argc, char** argv) {
  const std::string prog = "migscope hash";
  std::string file, vmdesc_file, snapshot;
  unsigned threads = 0;
  po::options_description opts(
      "usage: migscope hash FILE [options]\n\nThe final content of every sent page hashed with XXH3-64, one JSON line per "
      "page\n({\"block\",\"offset\",\"xxh3\"}, block then offset order), then one summary line per block\nwith page counts "
      "and \"block_xxh128\" (XXH3-128 of the whole block, = xxhsum -H128 of its extracted file).\n\nexample: migscope hash saved.mig > pages.jsonl\n\noptions");
  opts.add_options()("help,h", "show this help")
      ("threads,j", po::value(&threads)->value_name("N"), "worker threads (default: all cores); output does not depend on it")
      ("vmdesc", po::value(&vmdesc_file)->value_name("FILE"), "device description from this JSON file")
      ("snapshot", po::value(&snapshot)->value_name("ID"), "qcow2 image: the internal snapshot (id or name) whose VM state to read (default: the only one with a VM state)");
  if (auto done = parse_command_line(argc, argv, prog, opts, file)) return *done;
  if (threads == 0) threads = all_cores();
  if (threads > 256) return report_usage(prog, "--threads must be at most 256");

  auto dump = Dump::open(file, open_options(vmdesc_file, snapshot));
  if (!dump.ok()) return report_error(prog, file, dump.error());
  ops::HashOptions options;
  options.threads = threads;
  std::optional<ProgressMeter> meter(std::in_place, std::vector<const Dump*>{&*dump}, prog);
  auto report = ops::hash(*dump, options, ops::TextOutput::to_file(stdout));
  meter.reset();
  if (!report.ok()) return report_error(prog, file, report.error());
  report_warnings(prog, file, report->summary);
  for (const auto& b : report->blocks)
    if (!b.whole_hash && !chattiness().quiet)
      std::fprintf(stderr, "%s: %s: note: block '%s' (%llu bytes) is beyond the whole-block hashing budget (64 GiB + 64 x the input); block_xxh128 is null\n",
                   prog.c_str(), file.c_str(), b.name.c_str(), static_cast<unsigned long long>(b.length));
  return exit_ok;
}

}  // namespace migscope::tools
