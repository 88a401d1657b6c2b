// migscope snapshots DISK.qcow2 [--json]: the internal snapshots of a qcow2 image.
#include <cstdio>
#include <ctime>
#include <string>

#include <boost/program_options.hpp>

#include "common.h"
#include "json/py_writer.h"
#include "migscope/input.h"
#include "subcommands.h"

namespace po = boost::program_options;

namespace migscope::tools {

namespace {

std::string date_text(std::uint32_t sec) {
  const std::time_t t = sec;
  std::tm tm{};
  char buf[32];
  if (!gmtime_r(&t, &tm) || std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm) == 0) return "?";
  return buf;
}

std::string clock_text(std::uint64_t nsec) {
  char buf[48];
  const std::uint64_t ms = nsec / 1000000;
  std::snprintf(buf, sizeof buf, "%02llu:%02llu:%02llu.%03llu", static_cast<unsigned long long>(ms / 3600000),
                static_cast<unsigned long long>(ms / 60000 % 60), static_cast<unsigned long long>(ms / 1000 % 60),
                static_cast<unsigned long long>(ms % 1000));
  return buf;
}

}  // namespace

int cmd_snapshots(int argc, char** argv) {
  const std::string prog = "migscope snapshots";
  std::string file;
  bool as_json = false;
  po::options_description opts("usage: migscope snapshots DISK.qcow2 [options]\n\nThe internal snapshots of a qcow2 image: "
                               "id, name, VM state size, date (UTC), VM clock.\nEvery subcommand reads one's VM state with "
                               "--snapshot ID|NAME.\n\nexample: migscope snapshots disk.qcow2\n\noptions");
  opts.add_options()("help,h", "show this help")("json", po::bool_switch(&as_json), "print JSON instead of text");
  if (auto done = parse_command_line(argc, argv, prog, opts, file)) return *done;
  auto in = InputFile::open(file);
  if (!in.ok()) return report_error(prog, file, in.error());
  auto image = read_qcow2(in->bytes());
  if (!image.ok()) return report_error(prog, file, image.error());
  if (as_json) {
    json::OutBuffer out(stdout);
    json::PyWriter w(out);
    w.start_object();
    w.key("file"); w.string(file);
    w.key("version"); w.uint64(image->version);
    w.key("cluster_size"); w.uint64(std::uint64_t{1} << image->cluster_bits);
    w.key("disk_size"); w.uint64(image->size);
    w.key("snapshots"); w.start_array();
    for (const Qcow2Snapshot& sn : image->snapshots) {
      w.start_object();
      w.key("id"); w.string(sn.id);
      w.key("name"); w.string(sn.name);
      w.key("vm_state_size"); w.uint64(sn.vm_state_size);
      w.key("date_sec"); w.uint64(sn.date_sec);
      w.key("date_nsec"); w.uint64(sn.date_nsec);
      w.key("vm_clock_nsec"); w.uint64(sn.vm_clock_nsec);
      w.key("disk_size"); w.uint64(sn.disk_size);
      w.end_object();
    }
    w.end_array();
    w.end_object();
    w.end_document();
  } else {
    std::printf("%-6s %-24s %14s  %-19s  %s\n", "id", "name", "vm state", "date (UTC)", "vm clock");
    for (const Qcow2Snapshot& sn : image->snapshots)
      std::printf("%-6s %-24s %14llu  %-19s  %s\n", printable(sn.id).c_str(), printable(sn.name).c_str(),
                  static_cast<unsigned long long>(sn.vm_state_size), date_text(sn.date_sec).c_str(),
                  clock_text(sn.vm_clock_nsec).c_str());
  }
  std::fflush(stdout);
  return std::ferror(stdout) ? exit_io : exit_ok;
}

}  // namespace migscope::tools
