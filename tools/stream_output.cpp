#include "stream_output.h"

#include <cstdio>

#include "common.h"
#include "json/py_writer.h"
#include "json/python_dump.h"
#include "ram/page_index.h"
#include "sinks/extractor.h"
#include "sinks/memory_json.h"
#include "sinks/output_dir.h"
#include "sinks/state_json.h"

#include <unistd.h>

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
  WalkOptions options;
  options.vmdesc = s.vmdesc ? &*s.vmdesc : nullptr;
  options.release_behind = true;  // an InputFile is a read-only mapping
  options.page_size = args.page_size;
  options.prefetch_threads = all_cores();  // mapping work off the walk
  // -m: a first walk indexes every page's final version; the memory object is
  // then written by a nested walk when the state reaches the RAM section.
  std::optional<PageIndex> index;
  if (args.memory) {
    index.emplace(s.bytes());
    auto indexed = walk_stream(s.bytes(), s.location, options, *index);
    if (!indexed.ok()) {
      report_error(args.prog, args.file, indexed.error());
      return indexed.error().code;
    }
  }
  json::OutBuffer out(stdout);
  json::PyWriter w(out);
  StateJsonSink sink(w);
  if (index)
    sink.set_memory_writer([&](json::PyWriter& writer) -> Status {
      MemoryJson memory(writer, s.bytes(), *index);
      auto r = walk_stream(s.bytes(), s.location, options, memory);
      if (!r.ok()) return std::move(r).error();
      return {};
    });
  sink.begin();
  auto summary = walk_stream(s.bytes(), s.location, options, sink);
  if (!summary.ok()) {
    if (args.keep_going) {
      // Everything readable before the damage, then a record of where it stopped.
      const Error& e = summary.error();
      w.close_to(1);
      w.key("migscope error");
      w.start_object();
      w.key("offset");
      if (e.has_offset()) w.uint64(e.offset);
      else w.null();
      w.key("code");
      w.string(error_code_name(e.code));
      w.key("message");
      w.string(e.message());
      w.end_object();
      w.close_to(0);
      w.end_document();
    }
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

namespace {

// Write a JSON document into a temporary output file through a FILE*.
template <typename Fn>
Status write_json_file(OutputDir& dir, const std::string& name, Fn&& fn) {
  MIGSCOPE_ASSIGN(int fd, dir.create(name, 0));
  int own = ::dup(fd);
  std::FILE* f = own >= 0 ? ::fdopen(own, "w") : nullptr;
  if (!f) {
    if (own >= 0) ::close(own);
    return make_error(ErrorCode::io, Error::no_offset, "cannot open " + dir.path() + "/" + name + " for writing");
  }
  Status st;
  bool failed;
  {
    json::OutBuffer out(f);
    st = fn(out);
    out.Flush();
    failed = out.failed();
  }
  if (std::fclose(f) != 0) failed = true;
  if (!st.ok()) return st;
  if (failed) return make_error(ErrorCode::io, Error::no_offset, "cannot write " + dir.path() + "/" + name);
  return {};
}

}  // namespace

ErrorCode run_extract(const StreamArgs& args, const ExtractArgs& extract) {
  auto fail = [&](const Error& e) {
    report_error(args.prog, args.file, e);
    return e.code;
  };
  auto opened = open_stream(args.file, args.vmdesc_file);
  if (!opened.ok()) return fail(opened.error());
  OpenStream& s = opened.value();
  auto dir = OutputDir::open(extract.dir, extract.force);
  if (!dir.ok()) return fail(dir.error());
  OutputDir& out = dir.value();
  if (s.vmdesc) {
    if (auto st = out.reserve("desc.json"); !st.ok()) return fail(st.error());
  }
  if (auto st = out.reserve("state.json"); !st.ok()) return fail(st.error());

  // One pass over the stream: every page record written where it belongs
  // (later versions overwrite earlier ones), on a worker with -j > 1.
  PageIndex index(s.bytes());
  StreamingExtractor extractor(s.bytes(), index, out, extract.threads > 1, /*release_behind=*/true);
  WalkOptions options;
  options.vmdesc = s.vmdesc ? &*s.vmdesc : nullptr;
  options.page_size = args.page_size;
  auto summary = walk_stream(s.bytes(), s.location, options, extractor);
  Status written = extractor.finish();
  if (!summary.ok()) return fail(summary.error());
  if (!written.ok()) return fail(written.error());
  const std::vector<ExtractedBlock>& blocks = extractor.blocks();

  if (s.vmdesc) {
    Status st = write_json_file(out, "desc.json", [&](json::OutBuffer& o) -> Status {
      json::PyWriter w(o);
      json::write_python_json(w, s.vmdesc->root());
      return {};
    });
    if (!st.ok()) return fail(st.error());
  }
  options.release_behind = true;  // an InputFile is a read-only mapping
  // Pass 3: the device state, as upstream writes it (no trailing newline).
  Status st = write_json_file(out, "state.json", [&](json::OutBuffer& o) -> Status {
    json::PyWriter w(o);
    StateJsonSink sink(w);
    sink.begin();
    auto again = walk_stream(s.bytes(), s.location, options, sink);
    if (!again.ok()) return std::move(again).error();
    w.end_object();
    return {};
  });
  if (!st.ok()) return fail(st.error());
  if (auto c = out.commit(); !c.ok()) return fail(c.error());

  if (extract.upstream_listing) {
    if (s.vmdesc) std::printf("desc.json\n");
    for (const auto& b : blocks) std::printf("%s\n", printable(b.name).c_str());
    std::printf("state.json\n");
  } else {
    for (const auto& b : blocks)
      std::printf("%-40s %14llu bytes  %10llu pages written  (block '%s')\n", b.relative_path.c_str(),
                  static_cast<unsigned long long>(b.length), static_cast<unsigned long long>(b.pages_written),
                  printable(b.name).c_str());
    if (s.vmdesc) std::printf("%-40s\n", "desc.json");
    std::printf("%-40s\n", "state.json");
  }
  report_warnings(args.prog, args.file, summary.value());
  return ErrorCode::ok;
}

}  // namespace migscope::tools
