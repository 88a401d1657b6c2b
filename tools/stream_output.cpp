#include "stream_output.h"

#include <cstdio>

#include "common.h"
#include "json/py_writer.h"
#include "json/python_dump.h"
#include "sinks/state_json.h"

namespace migscope::tools {

void report_warnings(std::string_view prog, std::string_view file, const WalkSummary& summary) {
  for (const auto& w : summary.warnings)
    std::fprintf(stderr, "%.*s: %.*s: warning at 0x%llx: %s\n", static_cast<int>(prog.size()), prog.data(),
                 static_cast<int>(file.size()), file.data(), static_cast<unsigned long long>(w.offset), w.text.c_str());
}

ErrorCode print_state(const StreamArgs& args) {
  auto opened = open_stream(args.file, args.vmdesc_file);
  if (!opened.ok()) {
    report_error(args.prog, args.file, opened.error());
    return opened.error().code;
  }
  OpenStream& s = opened.value();
  if (!s.vmdesc)
    std::fprintf(stderr, "%s: %s: note: no VMDESCRIPTION trailer: device sections are shown as raw bytes (give --vmdesc FILE)\n",
                 args.prog.c_str(), args.file.c_str());
  json::OutBuffer out(stdout);
  json::PyWriter w(out);
  StateJsonSink sink(w);
  WalkOptions options;
  options.vmdesc = s.vmdesc ? &*s.vmdesc : nullptr;
  options.page_size = args.page_size;
  sink.begin();
  auto summary = walk_stream(s.bytes(), s.location, options, sink);
  if (!summary.ok()) {
    out.Flush();
    std::fflush(stdout);
    report_error(args.prog, args.file, summary.error());
    return summary.error().code;
  }
  sink.finish();
  std::fflush(stdout);
  report_warnings(args.prog, args.file, summary.value());
  if (out.failed() || std::ferror(stdout)) {
    report_error(args.prog, args.file, make_error(ErrorCode::io, Error::no_offset, "cannot write to standard output"));
    return ErrorCode::io;
  }
  return ErrorCode::ok;
}

ErrorCode print_desc(const StreamArgs& args) {
  auto opened = open_stream(args.file, args.vmdesc_file);
  if (!opened.ok()) {
    report_error(args.prog, args.file, opened.error());
    return opened.error().code;
  }
  OpenStream& s = opened.value();
  if (!s.vmdesc) {
    Error e = make_error(ErrorCode::unsupported, Error::no_offset,
                         "no VMDESCRIPTION trailer (postcopy, suppress-vmdesc, an old machine type or a truncated stream)");
    report_error(args.prog, args.file, e);
    return e.code;
  }
  json::OutBuffer out(stdout);
  json::PyWriter w(out);
  json::write_python_json(w, s.vmdesc->root());
  w.end_document();
  std::fflush(stdout);
  if (out.failed() || std::ferror(stdout)) {
    report_error(args.prog, args.file, make_error(ErrorCode::io, Error::no_offset, "cannot write to standard output"));
    return ErrorCode::io;
  }
  return ErrorCode::ok;
}

}  // namespace migscope::tools
