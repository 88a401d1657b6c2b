// state and desc: the device state and the description as upstream prints them.
#include <optional>

#include "json/py_writer.h"
#include "json/python_dump.h"
#include "migscope/ops.h"
#include "ops/incomplete_save.h"
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
  if (!options.keep_going)
    if (auto refused = refuse_incomplete_save(dump, /*can_keep_going=*/true)) return *refused;
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
    auto indexed = dump.walk(*index, walk);
    // With keep_going, an incomplete save's damage comes with the state walk below.
    if (!indexed.ok() && !is_incomplete_save(dump)) return std::move(indexed).error();
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
    Error e = is_incomplete_save(dump) ? incomplete_save_read(&summary.error()) : std::move(summary).error();
    // Never half a document: what was read, closed with a record of where
    // and why it stopped (the error's exit code says it is not complete).
    write_error_record(w, e);
    buffer.flush();
    return e;
  }
  if (is_incomplete_save(dump)) {  // (only with keep_going: refused above otherwise)
    const Error e = incomplete_save_read(nullptr);
    write_error_record(w, e);
    MIGSCOPE_TRY(buffer.finish());
    return e;
  }
  sink.finish();
  MIGSCOPE_TRY(buffer.finish());
  return summary;
}

Status desc(const Dump& dump, const TextOutput& out) {
  if (auto refused = refuse_incomplete_save(dump, /*can_keep_going=*/false)) return *refused;
  MIGSCOPE_TRY(settle_description(dump));
  const OpenStream& s = dump.stream();
  if (!s.vmdesc)
    return make_error(ErrorCode::unsupported, Error::no_offset,
                      "no VMDESCRIPTION trailer (postcopy, suppress-vmdesc or an old machine type)");
  OutputBuffer buffer(out);
  json::PyWriter w(buffer.buffer());
  json::write_python_json(w, s.vmdesc->root());
  w.end_document();
  return buffer.finish();
}

}  // namespace migscope::ops
