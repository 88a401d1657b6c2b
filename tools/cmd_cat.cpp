// migscope cat INPUT [-o FILE]: the bare QEMU stream inside any input.
#include <cstdio>
#include <optional>

#include <unistd.h>

#include <boost/program_options.hpp>

#include "common.h"
#include "progress.h"
#include "migscope/ops.h"
#include "subcommands.h"

namespace po = boost::program_options;

namespace migscope::tools {

int cmd_cat(int argc, char** argv) {
  const std::string prog = "migscope cat";
  std::string file, snapshot;
  ops::CatOptions options;
  po::options_description opts(
      "usage: migscope cat INPUT [-o FILE] [options]\n\nThe QEMU stream inside INPUT, byte for byte as QEMU wrote it: a "
      "libvirt save's payload\n(decompressed), a compressed dump decompressed, a qcow2 snapshot's VM state. For a\nsparse "
      "libvirt save, an equivalent bare mapped-ram stream (its offsets rebased).\n\nexample: migscope cat vm.save -o vm.mig\n\noptions");
  opts.add_options()("help,h", "show this help")
      ("output,o", po::value(&options.output)->value_name("FILE"), "write to FILE (complete or not at all) instead of standard output")
      ("force", po::bool_switch(&options.force), "replace FILE if it exists")
      ("snapshot", po::value(&snapshot)->value_name("ID"), "qcow2 image: the internal snapshot (id or name) whose VM state to write");
  if (auto done = parse_command_line(argc, argv, prog, opts, file)) return *done;
  if (options.output.empty() && ::isatty(STDOUT_FILENO))
    return report_usage(prog, "refusing to write a binary stream to a terminal: give -o FILE or redirect");
  auto dump = Dump::open(file, open_options("", snapshot));
  if (!dump.ok()) return report_error(prog, file, dump.error());
  std::optional<ProgressMeter> meter(std::in_place, std::vector<const Dump*>{&*dump}, "migscope cat");
  auto report = ops::cat(*dump, options, ops::TextOutput::to_file(stdout));
  meter.reset();
  if (!report.ok()) {
    // A refused or failed write names the output; anything else is the input's.
    const ErrorCode code = report.error().code;
    const bool output_error = !options.output.empty() && (code == ErrorCode::io || code == ErrorCode::output_refused);
    return report_error(prog, output_error ? options.output : file, report.error());
  }
  if (report->rebased_blocks)
    std::fprintf(stderr, "%s: %s: note: a sparse save: the stream now starts at offset 0 (a hole replaces the libvirt header) and the mapped-ram offsets of %zu block(s) were rebased by -0x%llx, keeping their alignment: a bare mapped-ram stream\n",
                 prog.c_str(), file.c_str(), report->rebased_blocks, static_cast<unsigned long long>(report->rebased_by));
  return exit_ok;
}

}  // namespace migscope::tools
