// migscope vmcore FILE -o OUT: guest-physical memory as an ELF core or a flat image.
#include <cstdio>
#include <optional>

#include <boost/program_options.hpp>

#include "common.h"
#include "progress.h"
#include "guest_map.h"
#include "migscope/ops.h"
#include "subcommands.h"

namespace po = boost::program_options;

namespace migscope::tools {

int cmd_vmcore(int argc, char** argv) {
  const std::string prog = "migscope vmcore";
  std::string file, snapshot, vmdesc, format = "elf", below, above_start, machine;
  std::vector<std::string> place;
  unsigned threads = 0;
  ops::VmcoreOptions options;
  po::options_description opts(
      "usage: migscope vmcore FILE -o OUT [options]\n\nThe guest's physical memory, each RAM block placed where the "
      "machine maps it, as\nQEMU's dump-guest-memory writes it: an ELF core (default; one PT_LOAD per range,\nCPU notes "
      "from the saved CPU state, zero pages as holes) for crash, gdb and\nVolatility, or a flat sparse image (--format "
      "raw: file offset = guest-physical\naddress). OUT is written under a temporary name and renamed when complete;\nan "
      "existing OUT is kept unless --force. The map is printed; blocks left out of it\nare listed on standard error.\n\n"
      "example: migscope vmcore guest.save -o guest.core && gdb -c guest.core\n\noptions");
  opts.add_options()("help,h", "show this help")
      ("output,o", po::value(&options.output)->value_name("OUT"), "the file to write")
      ("format", po::value(&format)->value_name("elf|raw"), "elf (default) or raw")
      ("force", po::bool_switch(&options.force), "replace OUT if it exists")
      ("threads,j", po::value(&threads)->value_name("N"), "worker threads (default: all cores)")
      ("snapshot", po::value(&snapshot)->value_name("NAME"), "qcow2 image: the internal snapshot (id or name) to read")
      ("vmdesc", po::value(&vmdesc)->value_name("FILE"), "device description from this JSON file (for streams without one: the CPU notes and the firmware mappings need it)")
      ("machine", po::value(&machine)->value_name("TYPE"), "machine type, for streams that do not name one (e.g. pc-q35-7.2)")
      ("below-4g", po::value(&below)->value_name("BYTES"), "x86: RAM below 4 GiB (max-ram-below-4g), e.g. 2G or 0x80000000")
      ("above-4g-start", po::value(&above_start)->value_name("ADDR"), "x86: where RAM above 4 GiB starts (default 4G)")
      ("place", po::value(&place)->value_name("BLOCK@ADDR"), "put RAM block BLOCK at guest-physical ADDR (repeatable)");
  if (auto done = parse_command_line(argc, argv, prog, opts, file)) return *done;
  if (options.output.empty()) return report_usage(prog, "missing -o OUT");
  if (format == "elf") options.format = ops::VmcoreFormat::elf;
  else if (format == "raw") options.format = ops::VmcoreFormat::raw;
  else return report_usage(prog, "--format must be elf or raw, not '" + format + "'");
  if (threads > 256) return report_usage(prog, "--threads must be at most 256");
  options.threads = threads == 0 ? all_cores() : threads;
  if (auto bad = parse_layout_options(machine, below, above_start, place, options.layout)) return report_usage(prog, *bad);

  auto dump = Dump::open(file, open_options(vmdesc, snapshot));
  if (!dump.ok()) return report_error(prog, file, dump.error());
  std::optional<ProgressMeter> meter(std::in_place, std::vector<const Dump*>{&*dump}, prog);
  auto report = ops::vmcore(*dump, options);
  meter.reset();
  if (!report.ok()) return report_error(prog, file, report.error());
  const ops::VmcoreReport& r = *report;
  if (options.format == ops::VmcoreFormat::elf)
    std::printf("%s: ELF%d core, %s, %zu CPU(s) with notes, %zu PT_LOAD, %llu bytes of guest memory\n",
                options.output.c_str(), r.elf_class64 ? 64 : 32, elf_machine_name(r.elf_machine).c_str(), r.cpus,
                r.layout.ranges.size(), static_cast<unsigned long long>(r.data_bytes));
  else
    std::printf("%s: flat image, %llu bytes (file offset = guest-physical address)\n", options.output.c_str(),
                static_cast<unsigned long long>(r.file_size));
  print_guest_map(stdout, r.layout);
  report_layout_remarks(prog, file, r.layout, r.remarks);
  return exit_ok;
}

}  // namespace migscope::tools
