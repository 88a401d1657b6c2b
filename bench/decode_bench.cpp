// Device state: decoding sections through a real vmdesc, rendering the state
// JSON, and the vmstate checker on full x86_64 -dump-vmstate documents. The
// inputs come from the corpus the build decompresses (<build>/corpus); a
// benchmark whose input is absent is skipped.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench_util.h"
#include "migscope/compat.h"
#include "json/py_writer.h"
#include "sinks/state_json.h"
#include "stream/open.h"
#include "vmdesc/decoder.h"

namespace migscope::bench {
namespace {

constexpr const char* kStream = "streams/x86_64-q35-7.2.mig";

struct DeviceSection {
  std::string path;
  const rapidjson::Value* desc = nullptr;
  Bytes body;
  std::uint64_t body_offset = 0;
};

class SectionCollector : public StreamVisitor {
 public:
  Status on_section(const SectionEvent& ev) override {
    if (ev.info && ev.info->kind == SectionKind::device && ev.info->desc)
      sections.push_back({std::string(ev.info->idstr), &description_json(*ev.info->desc), ev.body, ev.body_offset});
    return {};
  }
  std::vector<DeviceSection> sections;
};

// The corpus stream, opened once: its mapping, vmdesc and device sections.
struct Corpus {
  std::optional<OpenStream> stream;
  std::vector<DeviceSection> sections;
  std::vector<FieldValue> decoded;
  std::uint64_t body_bytes = 0;
  std::string error;
};

const Corpus& corpus() {
  static Corpus c = [] {
    Corpus k;
    auto path = corpus_file(kStream);
    if (!path) {
      k.error = std::string(kStream) + " not found under " + corpus_dir().string() + " (set MIGSCOPE_CORPUS_DIR)";
      return k;
    }
    auto s = open_stream(*path);
    if (!s.ok() || !s->vmdesc) {
      k.error = *path + ": cannot open or has no vmdesc";
      return k;
    }
    k.stream.emplace(std::move(s).value());
    SectionCollector col;
    WalkOptions o;
    o.vmdesc = &*k.stream->vmdesc;
    auto r = walk_stream(k.stream->bytes(), k.stream->location, o, col);
    if (!r.ok()) {
      k.error = r.error().message();
      return k;
    }
    for (auto& sec : col.sections) {
      Cursor cur(sec.body, sec.body_offset);
      auto v = decode_device(*sec.desc, cur, sec.path);
      if (!v.ok()) continue;  // 7.2's NULL-marker sections need the second reading; leave them out
      k.body_bytes += sec.body.size();
      k.sections.push_back(sec);
      k.decoded.push_back(std::move(v).value());
    }
    return k;
  }();
  return c;
}

// decode_device over every device section of the stream (fields, arrays,
// subsections through the vmdesc). Bytes are section body bytes.
void BM_DecodeDevices(benchmark::State& state) {
  const Corpus& c = corpus();
  if (!c.error.empty()) {
    state.SkipWithError(c.error.c_str());
    return;
  }
  for (auto _ : state) {
    for (const auto& sec : c.sections) {
      Cursor cur(sec.body, sec.body_offset);
      auto v = decode_device(*sec.desc, cur, sec.path);
      benchmark::DoNotOptimize(v.ok());
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * c.body_bytes));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * c.sections.size()));
}
BENCHMARK(BM_DecodeDevices);

// Rendering already-decoded values with upstream's rules into a string.
// Bytes are JSON bytes written.
void BM_RenderStateJson(benchmark::State& state) {
  const Corpus& c = corpus();
  if (!c.error.empty()) {
    state.SkipWithError(c.error.c_str());
    return;
  }
  std::string text, scratch;
  std::uint64_t written = 0;
  for (auto _ : state) {
    text.clear();
    {
      json::OutBuffer out(&text);
      json::PyWriter w(out);
      w.start_object();
      for (std::size_t i = 0; i < c.decoded.size(); ++i) {
        w.key(c.sections[i].path);
        write_state_value(w, c.decoded[i], scratch);
      }
      w.end_object();
      w.end_document();
    }
    written += text.size();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(written));
}
BENCHMARK(BM_RenderStateJson);

// `migscope state` without the I/O: the whole walk (RAM records skipped at
// header level, device sections decoded) with StateJsonSink into a string.
// Bytes are stream bytes.
void BM_StateJsonWalk(benchmark::State& state) {
  const Corpus& c = corpus();
  if (!c.error.empty()) {
    state.SkipWithError(c.error.c_str());
    return;
  }
  std::string text;
  for (auto _ : state) {
    text.clear();
    json::OutBuffer out(&text);
    json::PyWriter w(out);
    StateJsonSink sink(w);
    WalkOptions o;
    o.vmdesc = &*c.stream->vmdesc;
    sink.begin();
    auto r = walk_stream(c.stream->bytes(), c.stream->location, o, sink);
    if (!r.ok()) {
      state.SkipWithError(r.error().message().c_str());
      return;
    }
    sink.finish();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * c.stream->bytes().size()));
  state.SetLabel(std::to_string(text.size()) + " B of JSON");
}
BENCHMARK(BM_StateJsonWalk);

// The vmstate checker on full x86_64 -dump-vmstate documents (QEMU 4.2's q35
// against 7.2's): parsing both, then the comparison.
struct Dumps {
  std::string src, dest, error;
  std::optional<compat::VmstateDump> src_model, dest_model;
  std::optional<compat::RenameTable> renames;
};

const Dumps& dumps() {
  static Dumps d = [] {
    Dumps k;
    auto s = corpus_file("vmstate/dumps/x86_64-pc-q35-4.2.json");
    auto t = corpus_file("vmstate/dumps/x86_64-pc-q35-7.2.json");
    if (!s || !t) {
      k.error = "vmstate/dumps/x86_64-pc-q35-{4.2,7.2}.json not found under " + corpus_dir().string();
      return k;
    }
    k.src = read_file(*s);
    k.dest = read_file(*t);
    auto a = compat::parse_vmstate_dump(k.src);
    auto b = compat::parse_vmstate_dump(k.dest);
    auto r = compat::builtin_renames();
    if (!a.ok() || !b.ok() || !r.ok()) {
      k.error = "cannot parse the dumps or the rename table";
      return k;
    }
    k.src_model.emplace(std::move(a).value());
    k.dest_model.emplace(std::move(b).value());
    k.renames.emplace(std::move(r).value());
    return k;
  }();
  return d;
}

void BM_CheckerParseDump(benchmark::State& state) {
  const Dumps& d = dumps();
  if (!d.error.empty()) {
    state.SkipWithError(d.error.c_str());
    return;
  }
  for (auto _ : state) {
    auto m = compat::parse_vmstate_dump(d.dest);
    benchmark::DoNotOptimize(m.ok());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * d.dest.size()));
}
BENCHMARK(BM_CheckerParseDump);

void BM_CheckerCompare(benchmark::State& state) {
  const Dumps& d = dumps();
  if (!d.error.empty()) {
    state.SkipWithError(d.error.c_str());
    return;
  }
  std::size_t findings = 0;
  for (auto _ : state) {
    auto report = compat::check_vmstate(*d.src_model, *d.dest_model, *d.renames);
    findings = report.findings.size();
    benchmark::DoNotOptimize(findings);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * (d.src.size() + d.dest.size())));
  state.SetLabel(std::to_string(findings) + " findings");
}
BENCHMARK(BM_CheckerCompare);

// Parse both documents and compare: what `migscope check A B` costs.
void BM_CheckerEndToEnd(benchmark::State& state) {
  const Dumps& d = dumps();
  if (!d.error.empty()) {
    state.SkipWithError(d.error.c_str());
    return;
  }
  for (auto _ : state) {
    auto a = compat::parse_vmstate_dump(d.src);
    auto b = compat::parse_vmstate_dump(d.dest);
    if (!a.ok() || !b.ok()) {
      state.SkipWithError("parse failed");
      return;
    }
    auto report = compat::check_vmstate(*a, *b, *d.renames);
    benchmark::DoNotOptimize(report.findings.size());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * (d.src.size() + d.dest.size())));
}
BENCHMARK(BM_CheckerEndToEnd);

}  // namespace
}  // namespace migscope::bench
