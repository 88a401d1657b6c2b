// migscope report FILE -o report.html: one self-contained HTML page about a dump.
#include <cstdio>
#include <optional>
#include <vector>

#include <boost/program_options.hpp>

#include "common.h"
#include "progress.h"
#include "migscope/ops.h"
#include "stream_output.h"
#include "subcommands.h"

namespace po = boost::program_options;

namespace migscope::tools {

int cmd_report(int argc, char** argv) {
  const std::string prog = "migscope report";
  std::string file, snapshot, vmdesc;
  ops::ReportOptions options;
  po::options_description opts(
      "usage: migscope report FILE -o REPORT.html [options]\n\nOne HTML page to look at, self-contained (no network, no "
      "external file): the summary\n`info` prints, a libvirt save's domain, every section with where the bytes go, a\n"
      "picture of each RAM block's pages (zero, data, re-sent, XBZRLE, compressed, not\nsent), and the device state as a "
      "tree to open and search. One read of the stream.\nREPORT.html is written under a temporary name and renamed when "
      "complete; an\nexisting one is kept unless --force.\n\nexample: migscope report guest.save -o guest.html && "
      "xdg-open guest.html\n\noptions");
  opts.add_options()("help,h", "show this help")
      ("output,o", po::value(&options.output)->value_name("REPORT.html"), "the HTML file to write")
      ("force", po::bool_switch(&options.force), "replace REPORT.html if it exists")
      ("snapshot", po::value(&snapshot)->value_name("NAME"), "qcow2 image: the internal snapshot (id or name) to read")
      ("vmdesc", po::value(&vmdesc)->value_name("FILE"), "device description from this JSON file (for streams without one)");
  if (auto done = parse_command_line(argc, argv, prog, opts, file)) return *done;
  if (options.output.empty()) return report_usage(prog, "missing -o REPORT.html");
  options.helper_threads = all_cores();  // mapping work off the walk
  options.title = file;
  auto dump = Dump::open(file, open_options(vmdesc, snapshot));
  if (!dump.ok()) return report_error(prog, file, dump.error());
  std::optional<ProgressMeter> meter(std::in_place, std::vector<const Dump*>{&*dump}, prog);
  auto report = ops::report(*dump, options);
  meter.reset();
  if (!report.ok())
    return report_error(prog, report.error().code == ErrorCode::output_refused ? options.output : file, report.error());
  std::size_t cells = 0;
  for (const BlockPageMap& b : report->blocks) cells += b.cell_count();
  std::printf("%s: report of %s, %llu bytes (%zu sections, %zu RAM blocks in %zu cells)\n", options.output.c_str(),
              file.c_str(), static_cast<unsigned long long>(report->html_bytes), report->sections, report->blocks.size(), cells);
  report_warnings(prog, file, report->summary);
  return std::fflush(stdout) == 0 && !std::ferror(stdout) ? exit_ok : exit_io;
}

}  // namespace migscope::tools
