// state and desc: the device state and the description as upstream prints them.
#include <optional>

#include "json/py_writer.h"
#include "json/python_dump.h"
#include "migscope/ops.h"
#include "ops/text_output.h"
#include "ram/page_index.h"
#include "sinks/memory_json.h"
#include "sinks/state_json.h"
#include "stream/open.h"

namespace migscope::ops {

namespace {

// With keep_going: everything readable before the damage, then a record of where it stopped.
void write_error_record(json::PyWriter& w, const Error& e) {
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

}  // namespace

Result<WalkSummary> state(const Dump& dump, const StateOptions& options, const TextOutput& out) {
  WalkOptions walk;
  walk.release_behind = true;  // a Dump is a read-only mapping
  walk.page_size = options.page_size;
  walk.prefetch_threads = options.helper_threads;
  // -m: a first walk indexes every page's final version; the memory object is
  // then written by a nested walk when the state reaches the RAM section.
  // Without -m the state is written as the walk goes: it reads the stream once.
  walk.read_once = !options.memory;
  std::optional<PageIndex> index;
  Bytes walked;
  if (options.memory) {
    MIGSCOPE_ASSIGN(walked, dump.stream().prepare(false));
    index.emplace(walked);
    MIGSCOPE_TRY(dump.walk(*index, walk));
  }
  OutputBuffer buffer(out);
  json::PyWriter w(buffer.buffer());
  StateJsonSink sink(w);
  if (index)
    sink.set_memory_writer([&](json::PyWriter& writer) -> Status {
      MemoryJson memory(writer, walked, *index);
      MIGSCOPE_TRY(dump.walk(memory, walk));
      return {};
    });
  sink.begin();
  auto summary = dump.walk(sink, walk);
  if (!summary.ok()) {
    if (options.keep_going) write_error_record(w, summary.error());
    buffer.flush();
    return std::move(summary).error();
  }
  sink.finish();
  MIGSCOPE_TRY(buffer.finish());
  return summary;
}

Status desc(const Dump& dump, const TextOutput& out) {
  if (dump.description_pending()) {
    // A decompressed stream's trailer is at its end: one walk to it.
    StreamVisitor nothing;
    WalkOptions once;
    once.read_once = true;
    MIGSCOPE_TRY(dump.walk(nothing, once));
  }
  const OpenStream& s = dump.stream();
  if (!s.vmdesc)
    return make_error(ErrorCode::unsupported, Error::no_offset,
                      "no VMDESCRIPTION trailer (postcopy, suppress-vmdesc, an old machine type or a truncated stream)");
  OutputBuffer buffer(out);
  json::PyWriter w(buffer.buffer());
  json::write_python_json(w, s.vmdesc->root());
  w.end_document();
  return buffer.finish();
}

}  // namespace migscope::ops
