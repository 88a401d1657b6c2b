// extract: pass 1 walks once into StreamFanout{PageIndex, StreamingExtractor}
// (every page record written where it belongs as it is read, XBZRLE deltas
// applied against the index); then desc.json, and state.json from a second
// walk; everything committed (renamed into place) only when all succeeded.
#include <unistd.h>

#include "json/py_writer.h"
#include "json/python_dump.h"
#include "migscope/ops.h"
#include "ops/incomplete_save.h"
#include "ram/page_index.h"
#include "sinks/extractor.h"
#include "sinks/output_dir.h"
#include "sinks/state_json.h"
#include "stream/open.h"

namespace migscope::ops {

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

Result<ExtractReport> extract(const Dump& dump, const ExtractOptions& options) {
  if (auto refused = refuse_incomplete_save(dump, /*can_keep_going=*/false)) return *refused;
  const OpenStream& s = dump.stream();
  MIGSCOPE_ASSIGN(OutputDir out, OutputDir::open(options.dir, options.force));
  // A decompressed stream's description is known after the walk: reserve its name anyway.
  if (s.vmdesc || dump.description_pending()) MIGSCOPE_TRY(out.reserve("desc.json"));
  MIGSCOPE_TRY(out.reserve("state.json"));

  // One pass over the stream: every page record written where it belongs
  // (later versions overwrite earlier ones), on a worker with threads > 1.
  MIGSCOPE_ASSIGN(const Bytes walked, s.prepare(false));  // XBZRLE pages are resolved against earlier ones
  PageIndex index(walked);
  DirPageTarget files(out);
  StreamingExtractor extractor(walked, index, files, options.threads > 1, /*release_behind=*/true);
  StreamFanout pass1({&index, &extractor});
  WalkOptions walk;
  walk.page_size = options.page_size;
  auto summary = dump.walk(pass1, walk);
  Status written = extractor.finish();
  if (!summary.ok()) return std::move(summary).error();
  MIGSCOPE_TRY(written);

  ExtractReport report;
  if (s.vmdesc) {
    MIGSCOPE_TRY(write_json_file(out, "desc.json", [&](json::OutBuffer& o) -> Status {
      json::PyWriter w(o);
      json::write_python_json(w, s.vmdesc->root());
      return {};
    }));
    report.wrote_desc = true;
  }
  walk.release_behind = true;  // a Dump is a read-only mapping
  // Pass 2: the device state, as upstream writes it (no trailing newline).
  MIGSCOPE_TRY(write_json_file(out, "state.json", [&](json::OutBuffer& o) -> Status {
    json::PyWriter w(o);
    StateJsonSink sink(w);
    sink.begin();
    MIGSCOPE_TRY(dump.walk(sink, walk));
    w.end_object();
    return {};
  }));
  MIGSCOPE_TRY(out.commit());
  report.summary = std::move(summary).value();
  report.blocks = extractor.blocks();
  return report;
}

}  // namespace migscope::ops
