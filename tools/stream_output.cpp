#include "stream_output.h"

#include <cstdio>
#include <optional>
#include <vector>

#include "common.h"
#include "progress.h"
#include "migscope/ops.h"

namespace migscope::tools {

void report_warnings(std::string_view prog, std::string_view file, const WalkSummary& summary) {
  if (chattiness().quiet) return;
  for (const auto& w : summary.warnings)
    std::fprintf(stderr, "%.*s: %.*s: warning at 0x%llx: %s\n", static_cast<int>(prog.size()), prog.data(),
                 static_cast<int>(file.size()), file.data(), static_cast<unsigned long long>(w.offset),
                 with_remedy(w.text, w.remedy).c_str());
}

ErrorCode print_state(const StreamArgs& args) {
  auto dump = Dump::open(args.file, open_options(args.vmdesc_file, args.snapshot));
  if (!dump.ok()) {
    report_error(args.prog, args.file, dump.error());
    return dump.error().code;
  }
  const bool refused = dump->libvirt() && !dump->libvirt()->complete && !args.keep_going;  // an incomplete save
  auto no_description = [&] {
    if (refused || chattiness().quiet) return;
    std::fprintf(stderr, "%s: %s: note: no VMDESCRIPTION trailer: device sections are shown as raw bytes (give --vmdesc FILE)\n",
                 args.prog.c_str(), args.file.c_str());
  };
  ops::StateOptions options;
  options.memory = args.memory;
  options.keep_going = args.keep_going;
  options.page_size = args.page_size;
  options.helper_threads = all_cores();  // mapping work off the walk
  // The drop-in prints nothing on damage, as upstream (which prints its JSON
  // at the end): its text is held until the walk succeeded. migscope state
  // streams it, closed with a "migscope error" record on damage.
  std::string held;
  std::optional<ProgressMeter> meter(std::in_place, std::vector<const Dump*>{&*dump}, args.prog);
  auto summary = ops::state(*dump, options,
                            args.offers_keep_going ? ops::TextOutput::to_file(stdout) : ops::TextOutput::to_string(held));
  meter.reset();
  if (!args.offers_keep_going && summary.ok()) {
    if (std::fwrite(held.data(), 1, held.size(), stdout) != held.size() || std::fflush(stdout) != 0) {
      report_error(args.prog, "standard output", make_error(ErrorCode::io, Error::no_offset, "write failed"));
      return ErrorCode::io;
    }
  }
  // After the walk: a trailer cut short is an error, not a missing one (and a
  // decompressed stream's trailer is known only once it has been walked).
  if (summary.ok() && !dump->vmdesc()) no_description();
  if (!summary.ok()) {
    Error e = std::move(summary).error();
    if (e.remedy == Remedy::keep_going && !args.offers_keep_going) e.remedy = Remedy::none;
    report_error(args.prog, args.file, e);
    return e.code;
  }
  report_warnings(args.prog, args.file, summary.value());
  return ErrorCode::ok;
}

ErrorCode print_desc(const StreamArgs& args) {
  auto dump = Dump::open(args.file, open_options(args.vmdesc_file, args.snapshot));
  Status st = dump.ok() ? ops::desc(*dump, ops::TextOutput::to_file(stdout)) : Status(dump.error());
  if (!st.ok()) {
    report_error(args.prog, args.file, st.error());
    return st.error().code;
  }
  return ErrorCode::ok;
}

ErrorCode run_extract(const StreamArgs& args, const ExtractArgs& extract) {
  auto fail = [&](const Error& e) {
    report_error(args.prog, args.file, e);
    return e.code;
  };
  auto dump = Dump::open(args.file, open_options(args.vmdesc_file, args.snapshot));
  if (!dump.ok()) return fail(dump.error());
  ops::ExtractOptions options;
  options.dir = extract.dir;
  options.force = extract.force;
  options.threads = extract.threads;
  options.page_size = args.page_size;
  std::optional<ProgressMeter> meter(std::in_place, std::vector<const Dump*>{&*dump}, args.prog);
  auto report = ops::extract(*dump, options);
  meter.reset();
  if (!report.ok()) return fail(report.error());
  if (extract.upstream_listing) {
    if (report->wrote_desc) std::printf("desc.json\n");
    for (const auto& b : report->blocks) std::printf("%s\n", printable(b.name).c_str());
    std::printf("state.json\n");
  } else {
    // Page records written, zero pages and re-sent pages included: `hash`
    // counts pages instead (data_pages = sent pages whose final record has data).
    for (const auto& b : report->blocks)
      std::printf("%-40s %14llu bytes  %10llu page records written (zero and re-sent ones included)  (block '%s')\n",
                  b.relative_path.c_str(), static_cast<unsigned long long>(b.length),
                  static_cast<unsigned long long>(b.pages_written), printable(b.name).c_str());
    if (report->wrote_desc) std::printf("desc.json\n");
    std::printf("state.json\n");
  }
  report_warnings(args.prog, args.file, report->summary);
  return ErrorCode::ok;
}

}  // namespace migscope::tools
