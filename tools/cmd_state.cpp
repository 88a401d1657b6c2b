// migscope state FILE: device state as upstream analyze-migration.py -d state prints it.
#include <cstdio>

#include <boost/program_options.hpp>

#include "common.h"
#include "stream_output.h"
#include "subcommands.h"

namespace po = boost::program_options;

namespace migscope::tools {

int cmd_state(int argc, char** argv) {
  StreamArgs args;
  args.prog = "migscope state";
  std::uint64_t page_size = 0;
  bool memory = false;
  po::options_description opts("usage: migscope state FILE [options]\n\nDevice state as JSON, identical to upstream "
                               "'analyze-migration.py -d state'.\nFILE may be '-' for standard input.\n\nexample: migscope state saved.mig > state.json\n\noptions");
  opts.add_options()("help,h", "show this help")
      ("vmdesc", po::value(&args.vmdesc_file)->value_name("FILE"), "read the device description from this JSON file (a vmdesc from another run)")
      ("snapshot", po::value(&args.snapshot)->value_name("ID"), "qcow2 image: the internal snapshot (id or name) whose VM state to read (default: the only one with a VM state)")
      ("page-size", po::value(&page_size)->value_name("BYTES"), "target page size in bytes (default: from the stream)")
      ("keep-going", po::bool_switch(&args.keep_going),
       "read an incomplete libvirt save too (damage always ends the JSON with a \"migscope error\" record and a non-zero exit)")
      ("memory,m", po::bool_switch(&memory), "also dump RAM contents: every page's final content as hex (upstream -m)");
  po::variables_map vm;
  if (auto done = parse_command_line(argc, argv, args.prog, opts, args.file, &vm)) return *done;
  args.memory = memory;
  if (vm.count("page-size")) {
    if (page_size < 1024 || page_size > (1u << 20) || (page_size & (page_size - 1)) != 0)
      return report_usage(args.prog, "--page-size must be a power of two from 1024 to 1048576");
    args.page_size = page_size;
  }
  return exit_code_for(print_state(args));
}

}  // namespace migscope::tools
