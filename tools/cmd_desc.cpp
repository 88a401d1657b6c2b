// migscope desc FILE: the vmdesc trailer as upstream analyze-migration.py -d desc prints it.
#include <iostream>

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
                               "JSON, identical to upstream 'analyze-migration.py -d desc'.\n\noptions");
  opts.add_options()("help,h", "show this help");
  po::options_description hidden;
  hidden.add_options()("file", po::value(&args.file));
  po::positional_options_description pos;
  pos.add("file", 1);
  po::options_description all;
  all.add(opts).add(hidden);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return report_usage(args.prog, e.what());
  }
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return exit_ok;
  }
  if (args.file.empty()) return report_usage(args.prog, "missing FILE");
  return exit_code_for(print_desc(args));
}

}  // namespace migscope::tools
