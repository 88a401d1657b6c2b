// migscope check SRC DEST: the vmstate static checker with structured reports.
//
// SRC and DEST are -dump-vmstate files, vmdesc JSON files, or migration
// streams (their vmdesc trailers are compared). Findings carry a severity and
// a stable id; --baseline ignores known ids, --fail-on sets which severities
// fail. Exit: 0 no failing findings, 1 failing findings, 2 usage, 3 a stream
// that is not one, 5 malformed JSON, 7 I/O (tools/exit_codes.h).
#include <cstdio>
#include <cstring>
#include <optional>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "common.h"
#include "progress.h"
#include "migscope/ops.h"
#include "subcommands.h"

namespace migscope::tools {

namespace {

constexpr const char* kProg = "migscope check";
namespace po = boost::program_options;
namespace compat = migscope::compat;

struct CheckOptions {
  std::string src, dest;
  bool reverse = false;
  bool lenient = false;
  std::string format = "text";
  std::vector<std::string> renames;
  bool no_builtin_renames = false;
  std::string baseline;
  std::string write_baseline;
  std::string fail_on = "warning";
  std::string output;
  std::vector<std::string> against;
  std::vector<std::string> capabilities;
  bool capabilities_given = false;
  std::string snapshot;
};

int write_file(const std::string& path, const std::string& text) {
  std::FILE* f = path == "-" ? stdout : std::fopen(path.c_str(), "wb");
  if (f == nullptr)
    return report_error(kProg, path, make_error(ErrorCode::io, Error::no_offset, std::strerror(errno)));
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = (f == stdout ? std::fflush(f) == 0 : std::fclose(f) == 0) && ok;
  if (!ok) return report_error(kProg, path, make_error(ErrorCode::io, Error::no_offset, "write failed"));
  return exit_ok;
}

void print_help(const po::options_description& visible) {
  std::cout << "usage: migscope check SRC DEST [options]\n\n"
               "Check whether migration from SRC to DEST would break. SRC and DEST are both\n"
               "-dump-vmstate JSON files (upstream's vmstate-static-checker algorithm), or both\n"
               "migration streams / vmdesc JSON files (their VMDESCRIPTION trailers are compared:\n"
               "what was actually sent, compat properties included).\n\n"
            << visible
            << "\nmigscope check DUMP --against DEST [--against DEST2]: would DUMP (any input: stream,\n"
               "libvirt save, compressed, qcow2 snapshot) load into the destination? DEST is the\n"
               "destination's -dump-vmstate (binary and machine type: versions, subsections) and/or a\n"
               "stream saved by the destination's own VM configuration (device set, RAM blocks,\n"
               "configuration and footer settings, field layout). One finding per reason QEMU's loader\n"
               "would refuse it, with the line QEMU prints; the questions DEST could not decide; a\n"
               "verdict line. With --against, --fail-on defaults to error: exit 0 = would load.\n"
               "example: migscope check saved.mig --against dest.vmstate.json --against dest-empty.mig\n"
            << "\nSeverities: info (machine type, subsection only in dest), warning (section absent\n"
               "from dest, size or subsection differences static dumps often get wrong), error\n"
               "(dest cannot load what src sends). Exit status: 0 no failing finding, 1 failing\n"
               "findings, 2 usage, 3 not a stream, 5 malformed input, 7 I/O error.\n";
}

int emit_report(const CheckOptions& o, const compat::CheckReport& report, compat::ReportOptions& ropts) {
  ropts.src_name = o.src;
  ropts.dest_name = o.dest;
  ropts.reverse = o.reverse;
  ropts.fail_on_name = "--fail-on";
  std::string text = o.format == "json"    ? compat::render_json(report, ropts)
                     : o.format == "junit" ? compat::render_junit(report, ropts)
                                           : compat::render_text(report, ropts);
  if (int rc = write_file(o.output.empty() ? "-" : o.output, text); rc != exit_ok) return rc;
  // The text report ends with the summary; other formats get it on stderr.
  if (o.format != "text" || !o.output.empty()) {
    std::fprintf(stderr, "%s\n", compat::summary_line(report, ropts).c_str());
    if (report.load_check) std::fprintf(stderr, "verdict: %s\n", compat::load_verdict(report).c_str());
  }
  if (!o.write_baseline.empty())
    if (int rc = write_file(o.write_baseline, compat::write_baseline(report)); rc != exit_ok) return rc;
  return compat::summarize(report, ropts).failing ? exit_findings : exit_ok;
}

// --format, --fail-on and --baseline, shared by both forms of check.
std::optional<int> report_settings(const CheckOptions& o, compat::ReportOptions& ropts, compat::Baseline& baseline) {
  if (o.format != "text" && o.format != "json" && o.format != "junit")
    return report_usage(kProg, "--format must be text, json or junit, not '" + o.format + "'");
  if (!compat::parse_severity(o.fail_on, ropts.fail_on))
    return report_usage(kProg, "--fail-on must be info, warning or error, not '" + o.fail_on + "'");
  if (!o.baseline.empty()) {
    auto parsed = ops::load_baseline(o.baseline);
    if (!parsed.ok()) return report_error(kProg, o.baseline, parsed.error());
    baseline = std::move(parsed).value();
    ropts.baseline = &baseline;
  }
  return std::nullopt;
}

int check_against(CheckOptions& o) {
  compat::ReportOptions ropts;
  compat::Baseline baseline;
  if (auto rc = report_settings(o, ropts, baseline)) return *rc;
  auto dump = Dump::open(o.src, open_options({}, o.snapshot));
  if (!dump.ok()) return report_error(kProg, o.src, dump.error());
  std::optional<ProgressMeter> meter(std::in_place, std::vector<const Dump*>{&*dump}, kProg);
  auto facts = ops::load_facts(*dump);
  meter.reset();
  if (!facts.ok()) return report_error(kProg, o.src, facts.error());

  std::optional<compat::VmstateDump> vmstate;
  std::optional<compat::LoadFacts> dest_stream;
  for (const auto& path : o.against) {
    if (ops::looks_like_state_json(path)) {
      if (vmstate) return report_usage(kProg, "--against: give at most one -dump-vmstate file");
      auto parsed = ops::load_vmstate_dump(path, o.lenient);
      if (!parsed.ok()) return report_error(kProg, path, parsed.error());
      vmstate = std::move(parsed).value();
      continue;
    }
    if (dest_stream) return report_usage(kProg, "--against: give at most one destination stream");
    auto d = Dump::open(path);
    if (!d.ok()) return report_error(kProg, path, d.error());
    auto f = ops::load_facts(*d);
    if (!f.ok()) return report_error(kProg, path, f.error());
    dest_stream = std::move(f).value();
  }
  compat::LoadTarget target;
  target.vmstate = vmstate ? &*vmstate : nullptr;
  target.stream = dest_stream ? &*dest_stream : nullptr;
  if (o.capabilities_given) target.capabilities = o.capabilities;
  auto checked = compat::check_load(*facts, target);
  if (!checked.ok()) return report_error(kProg, o.src, checked.error());
  o.dest.clear();
  for (const auto& path : o.against) o.dest += (o.dest.empty() ? "" : " + ") + path;
  return emit_report(o, *checked, ropts);
}

}  // namespace

int cmd_check(int argc, char** argv) {
  CheckOptions o;
  po::options_description visible("options");
  visible.add_options()
      ("help,h", "show this help and exit")
      ("reverse", po::bool_switch(&o.reverse), "check migration from DEST to SRC")
      ("lenient", po::bool_switch(&o.lenient),
       "accept -dump-vmstate documents without entries QEMU always writes (vmschkmachine, a section's Description), "
       "reporting them as findings as vmstate-static-checker does")
      ("format", po::value(&o.format)->value_name("text|json|junit"), "report format (default text)")
      ("renames", po::value(&o.renames)->value_name("FILE")->composing(),
       "more renames, same shape as core/compat/renames.json (repeatable)")
      ("no-builtin-renames", po::bool_switch(&o.no_builtin_renames), "do not use the built-in rename table")
      ("baseline", po::value(&o.baseline)->value_name("FILE"), "ignore findings whose ids are in FILE")
      ("write-baseline", po::value(&o.write_baseline)->value_name("FILE"), "record every finding's id in FILE")
      ("fail-on", po::value(&o.fail_on)->value_name("SEVERITY"),
       "lowest severity that fails: info|warning|error (default warning)")
      ("output,o", po::value(&o.output)->value_name("FILE"), "write the report to FILE instead of stdout")
      ("against", po::value(&o.against)->value_name("DEST")->composing(),
       "check that the dump SRC would load into DEST: a -dump-vmstate file and/or a stream of the destination's configuration (repeatable)")
      ("snapshot", po::value(&o.snapshot)->value_name("ID"), "with --against, a qcow2 DUMP: the internal snapshot to check")
      ("capability", po::value(&o.capabilities)->value_name("NAME")->composing(),
       "with --against: a migration capability the destination will have set (repeatable; default: what DEST's stream shows)");
  po::options_description hidden;
  hidden.add_options()
      ("src", po::value(&o.src))
      ("dest", po::value(&o.dest));
  visible.add(common_options());
  po::options_description all;
  all.add(visible).add(hidden);
  po::positional_options_description positional;
  positional.add("src", 1).add("dest", 1);

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return report_usage(kProg, e.what());
  }
  if (vm.count("help")) {
    print_help(visible);
    return exit_ok;
  }
  o.capabilities_given = vm.count("capability") > 0;
  if (!o.against.empty()) {
    if (!o.dest.empty()) return report_usage(kProg, "--against takes the place of DEST: give one input, the dump");
    if (o.src.empty()) return report_usage(kProg, "--against needs the dump to check: migscope check DUMP --against DEST");
    if (!vm.count("fail-on")) o.fail_on = "error";
    return check_against(o);
  }
  if (o.src.empty() || o.dest.empty()) return report_usage(kProg, "need two inputs: SRC DEST");
  compat::ReportOptions ropts;
  compat::Baseline baseline;
  if (auto rc = report_settings(o, ropts, baseline)) return *rc;
  auto renames = ops::builtin_renames(!o.no_builtin_renames);
  if (!renames.ok()) return report_error(kProg, "built-in renames.json", renames.error());
  for (const auto& path : o.renames)
    if (Status st = ops::load_renames(path, *renames); !st.ok()) return report_error(kProg, path, st.error());

  auto [src, dest] = ops::load_vmstate_pair(o.src, o.dest, o.lenient);
  if (!src.ok()) return report_error(kProg, o.src, src.error());
  if (!dest.ok()) return report_error(kProg, o.dest, dest.error());
  ops::CheckOptions copts;
  copts.reverse = o.reverse;
  auto checked = ops::check(*src, *dest, *renames, copts);
  if (!checked.ok()) {
    if (checked.error().code == ErrorCode::usage) return report_usage(kProg, checked.error().detail);
    return report_error(kProg, "", checked.error());
  }
  const compat::CheckReport& report = checked.value();

  return emit_report(o, report, ropts);
}

}  // namespace migscope::tools
