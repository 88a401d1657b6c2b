// migscope extract FILE -o DIR: one sparse file per RAM block, plus desc.json and state.json.
#include <cstdio>

#include <boost/program_options.hpp>

#include "common.h"
#include "stream_output.h"
#include "subcommands.h"

namespace po = boost::program_options;

namespace migscope::tools {

int cmd_extract(int argc, char** argv) {
  StreamArgs args;
  args.prog = "migscope extract";
  ExtractArgs ex;
  ex.dir.clear();
  unsigned threads = 0;
  po::options_description opts(
      "usage: migscope extract FILE -o DIR [options]\n\nWrite the final content of every RAM block to its own sparse file "
      "in DIR (zero pages\nstay holes), plus desc.json and state.json as upstream -x writes them. Block names map\nto "
      "paths inside DIR only: '/' separates directories, empty and '.' components are\ndropped, '..' becomes '%2e%2e' and "
      "bytes outside [A-Za-z0-9._@:+,=-] become %XX.\nExisting files are kept unless --force; files are written under "
      "temporary names\n(.NAME.migscope-partial) and renamed into place only when everything succeeded.\n\nexample: migscope extract saved.mig -o ram/\n\noptions");
  opts.add_options()("help,h", "show this help")("output,o", po::value(&ex.dir)->value_name("DIR"), "output directory (created if missing)")
      ("force", po::bool_switch(&ex.force), "replace existing files")
      ("threads,j", po::value(&threads)->value_name("N"), "worker threads (default: all cores)")
      ("vmdesc", po::value(&args.vmdesc_file)->value_name("FILE"), "device description from this JSON file")
      ("snapshot", po::value(&args.snapshot)->value_name("ID"), "qcow2 image: the internal snapshot (id or name) whose VM state to read (default: the only one with a VM state)");
  if (auto done = parse_command_line(argc, argv, args.prog, opts, args.file)) return *done;
  if (ex.dir.empty()) return report_usage(args.prog, "missing -o DIR");
  if (threads > 256) return report_usage(args.prog, "--threads must be at most 256");
  ex.threads = threads == 0 ? all_cores() : threads;
  return exit_code_for(run_extract(args, ex));
}

}  // namespace migscope::tools
