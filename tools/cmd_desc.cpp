// migscope desc FILE: the vmdesc trailer as upstream analyze-migration.py -d desc prints it.

#include <boost/program_options.hpp>

#include "common.h"
#include "stream_output.h"
#include "subcommands.h"

namespace po = boost::program_options;

namespace migscope::tools {

int cmd_desc(int argc, char** argv) {
  StreamArgs args;
  args.prog = "migscope desc";
  po::options_description opts("usage: migscope desc FILE [options]\n\nThe stream's description (vmdesc trailer) as "
                               "JSON, identical to upstream 'analyze-migration.py -d desc'.\n\nexample: migscope desc saved.mig > vmdesc.json\n\noptions");
  opts.add_options()("help,h", "show this help")
      ("snapshot", po::value(&args.snapshot)->value_name("ID"), "qcow2 image: the internal snapshot (id or name) whose VM state to read (default: the only one with a VM state)");
  if (auto done = parse_command_line(argc, argv, args.prog, opts, args.file)) return *done;
  return exit_code_for(print_desc(args));
}

}  // namespace migscope::tools
