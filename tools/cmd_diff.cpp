// migscope diff A B: device state field by field and RAM page by page.
// Exit like diff(1): 0 identical (after the ignores), 1 different, >= 2 errors.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "common.h"
#include "progress.h"
#include "migscope/ops.h"
#include "subcommands.h"

namespace migscope::tools {

namespace {

constexpr const char* kProg = "migscope diff";
namespace po = boost::program_options;

void print_help(const po::options_description& visible) {
  std::cout << "usage: migscope diff A B [options]\n\n"
               "Compare two saved VMs. A and B are any inputs (bare streams, libvirt saves, compressed\n"
               "dumps, qcow2 snapshots with --snapshot-a/--snapshot-b) or state JSON written by\n"
               "`migscope state` (device state only).\n"
               "Device sections are matched by idstr and instance, fields compared as `state` renders\n"
               "them (paths like 'cpu (5)/env.regs[3]', A's section key first); RAM blocks by name,\n"
               "pages by the XXH3-64 of their final content (unsent pages count as zero).\n\n"
            << visible
            << "\nDefault ignores (clocks and timers that differ between any two saves of a running\n"
               "guest; --no-default-ignores compares them too):\n";
  for (const auto& g : diff::default_ignores()) std::cout << "  " << g << "\n";
  std::cout << "\nExit status: 0 identical, 1 different, 2 usage, 3 not a stream, 4 unsupported,\n"
               "5 corrupt or truncated input, 7 I/O error.\n\n"
               "example: migscope diff before.mig after.mig --format jsonl --pages > changes.jsonl\n";
}

}  // namespace

int cmd_diff(int argc, char** argv) {
  std::string a_path, b_path, format = "text", output, snapshot_a, snapshot_b, vmdesc_a, vmdesc_b;
  std::vector<std::string> ignores;
  bool no_default_ignores = false, pages = false, sequential = false;
  unsigned threads = 1;
  po::options_description visible("options");
  visible.add_options()
      ("help,h", "show this help and exit")
      ("format", po::value(&format)->value_name("text|json|jsonl"), "report format (default text)")
      ("pages", po::bool_switch(&pages), "list every differing page (one line each in jsonl: kind \"ram-page\")")
      ("ignore", po::value(&ignores)->value_name("GLOB")->composing(),
       "do not compare fields whose path (or an ancestor) matches GLOB, e.g. 'cpu (*)/env.tsc' (repeatable)")
      ("no-default-ignores", po::bool_switch(&no_default_ignores), "compare the clock and timer fields too")
      ("threads,j", po::value(&threads)->value_name("N"), "hashing threads per input (default 1; the two inputs are read in parallel)")
      ("sequential", po::bool_switch(&sequential), "read A, then B (less memory bandwidth at once)")
      ("vmdesc-a", po::value(&vmdesc_a)->value_name("FILE"), "device description of A from FILE")
      ("vmdesc-b", po::value(&vmdesc_b)->value_name("FILE"), "device description of B from FILE")
      ("snapshot-a", po::value(&snapshot_a)->value_name("ID"), "qcow2 A: the internal snapshot to read")
      ("snapshot-b", po::value(&snapshot_b)->value_name("ID"), "qcow2 B: the internal snapshot to read")
      ("output,o", po::value(&output)->value_name("FILE"), "write the report to FILE instead of stdout");
  po::options_description hidden;
  hidden.add_options()("a", po::value(&a_path))("b", po::value(&b_path));
  visible.add(common_options());
  po::options_description all;
  all.add(visible).add(hidden);
  po::positional_options_description positional;
  positional.add("a", 1).add("b", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::too_many_positional_options_error&) {
    return report_usage(kProg, "takes two inputs, A and B");
  } catch (const po::error& e) {
    return report_usage(kProg, e.what());
  }
  if (vm.count("help")) {
    print_help(visible);
    return exit_ok;
  }
  if (a_path.empty() || b_path.empty()) return report_usage(kProg, "need two inputs: A B");
  diff::DiffFormat fmt;
  if (format == "text") fmt = diff::DiffFormat::text;
  else if (format == "json") fmt = diff::DiffFormat::json;
  else if (format == "jsonl") fmt = diff::DiffFormat::jsonl;
  else return report_usage(kProg, "--format must be text, json or jsonl, not '" + format + "'");
  if (threads == 0 || threads > 256) return report_usage(kProg, "--threads must be between 1 and 256");
  if (a_path == "-" && b_path == "-") return report_usage(kProg, "only one of A and B can be standard input");

  std::optional<Dump> dumps[2];
  ops::DiffInput inputs[2];
  const std::string* paths[2] = {&a_path, &b_path};
  const std::string* vmdescs[2] = {&vmdesc_a, &vmdesc_b};
  const std::string* snapshots[2] = {&snapshot_a, &snapshot_b};
  for (int i = 0; i < 2; ++i) {
    inputs[i].name = *paths[i];
    if (ops::looks_like_state_json(*paths[i])) {
      auto text = compat::read_text_file(*paths[i]);
      if (!text.ok()) return report_error(kProg, *paths[i], text.error());
      inputs[i].state_json = std::move(text).value();
      continue;
    }
    auto dump = Dump::open(*paths[i], open_options(*vmdescs[i], *snapshots[i]));
    if (!dump.ok()) return report_error(kProg, *paths[i], dump.error());
    dumps[i].emplace(std::move(dump).value());
    inputs[i].dump = &*dumps[i];
  }
  ops::DiffOptions options;
  options.ignores = ignores;
  options.default_ignores = !no_default_ignores;
  options.pages = pages;
  options.threads = threads;
  options.parallel = !sequential;
  std::string failed;
  std::vector<const Dump*> walked;
  for (auto& d : dumps)
    if (d) walked.push_back(&*d);
  std::optional<ProgressMeter> meter(std::in_place, walked, kProg);
  auto report = ops::diff(inputs[0], inputs[1], options, &failed);
  meter.reset();
  if (!report.ok()) return report_error(kProg, failed, report.error());

  std::FILE* out = stdout;
  if (!output.empty() && output != "-") {
    out = std::fopen(output.c_str(), "wb");
    if (!out) return report_error(kProg, output, make_error(ErrorCode::io, Error::no_offset, std::strerror(errno)));
  }
  bool write_failed = false;
  diff::render_diff(*report, fmt, [&](std::string_view piece) {
    if (!write_failed && std::fwrite(piece.data(), 1, piece.size(), out) != piece.size()) write_failed = true;
  });
  write_failed = (out == stdout ? std::fflush(out) != 0 : std::fclose(out) != 0) || write_failed;
  if (write_failed)
    return report_error(kProg, output.empty() ? "standard output" : output,
                        make_error(ErrorCode::io, Error::no_offset, "write failed"));
  if (fmt != diff::DiffFormat::text) std::fprintf(stderr, "%s\n", diff::diff_summary_line(*report).c_str());
  return report->identical() ? exit_ok : exit_findings;
}

}  // namespace migscope::tools
