#include "stream/open.h"

#include <algorithm>

#include "input/decompress.h"
#include "input/qcow2.h"
#include "input/stitched_map.h"
#include "stream/growing_walk.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

namespace migscope {

namespace {

Result<std::string> slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return make_error(ErrorCode::io, Error::no_offset, "cannot open " + path + ": " + std::strerror(errno));
  std::ostringstream s;
  s << f.rdbuf();
  if (f.bad()) return make_error(ErrorCode::io, Error::no_offset, "cannot read " + path);
  return s.str();
}

// Make `s` a streamed input read by `reopen` (at most `limit` bytes), after a
// look at its first bytes: they must be a plain QEMU stream. `what` names it
// in errors.
Status stream_from(OpenStream& s, std::function<Result<std::unique_ptr<SequentialReader>>()> reopen, std::uint64_t limit,
                   const std::string& what, std::uint64_t at) {
  MIGSCOPE_ASSIGN(std::unique_ptr<SequentialReader> reader, reopen());
  // Enough of it to know what it is (a header is far shorter).
  std::vector<std::byte> head(4096);
  std::size_t n = 0;
  while (n < head.size()) {
    MIGSCOPE_ASSIGN(std::size_t got, reader->read(std::span<std::byte>(head).subspan(n)));
    if (got == 0) break;
    n += got;
  }
  auto inner = locate_stream(Bytes{head.data(), n});
  if (!inner.ok()) {
    Error e = std::move(inner).error();
    e.detail = what + ": " + e.detail;
    return e;
  }
  if (inner->format != InputFormat::qemu_stream || inner->compression != Compression::none)
    return make_error(ErrorCode::not_a_stream, at, what + " is not a QEMU stream but another wrapper");
  s.location.stream_offset = inner->stream_offset;
  s.reopen = std::move(reopen);
  s.limit = limit;
  s.description_known = false;
  return {};
}

// Skips what a first, deferred walk already gave the visitor (see DeferredWalk)
// when the stream has to be walked again with its description.
class ResumingVisitor final : public StreamVisitor {
 public:
  ResumingVisitor(StreamVisitor& inner, const DeferredWalk& d) : inner_(inner), d_(d) {}
  Status on_configuration(const Configuration& c) override {
    return d_.configuration_delivered ? Status{} : inner_.on_configuration(c);
  }
  Status on_command(const Command& c) override { return c.offset < d_.events_from ? Status{} : inner_.on_command(c); }
  Status on_section(const SectionEvent& ev) override {
    return ev.offset < d_.events_from ? Status{} : inner_.on_section(ev);
  }
  Status on_ram_blocks(const SectionInfo& s, std::span<const RamBlock> blocks) override {
    if (!blocks.empty() && blocks.back().header_offset < d_.delivered_before) return {};
    return inner_.on_ram_blocks(s, blocks);
  }
  Status on_pages(std::span<const RamBlock> blocks, std::span<const PageRecord> pages) override {
    std::size_t skip = 0;
    while (skip < pages.size() && pages[skip].file_offset < d_.delivered_before) ++skip;
    if (skip == pages.size()) return {};
    return inner_.on_pages(blocks, pages.subspan(skip));
  }
  Status on_ram_discard(std::span<const RamBlock> blocks, const RamDiscard& d) override {
    return d.offset < d_.delivered_before ? Status{} : inner_.on_ram_discard(blocks, d);
  }

 private:
  StreamVisitor& inner_;
  const DeferredWalk& d_;
};

// A compressed stream (a libvirt save of format 1-5, a compressed dump):
// decompressed into an unlinked temporary file, which is then walked; the
// input stays mapped for its header and domain XML.
Status decompress(OpenStream& s) {
  s.container = std::move(s.file);
  s.contained = true;
  const Bytes payload = s.container.bytes().subspan(s.location.payload_offset);
  const std::string name = s.container.path();
  const Compression kind = s.location.compression;
  const std::uint64_t at = s.location.payload_offset;
  // An incomplete save (LibvirtQemudPart) is cut short: its stream is what decompresses before the cut.
  const bool incomplete = s.location.libvirt && !s.location.libvirt->complete;
  auto consumed = s.consumed;
  auto reopen = [payload, kind, name, at, incomplete, consumed]() -> Result<std::unique_ptr<SequentialReader>> {
    MIGSCOPE_ASSIGN(std::unique_ptr<SequentialReader> reader,
                    make_decompressor(payload, kind, name, at, /*release_behind=*/true, consumed.get()));
    if (incomplete) reader = end_at_damage(std::move(reader));
    return reader;
  };
  // A migration stream compresses well (zero-page records), but not without bound.
  const std::uint64_t limit = std::max<std::uint64_t>(std::uint64_t{1} << 30, payload.size() * std::uint64_t{1024});
  return stream_from(s, std::move(reopen), limit, "the decompressed " + std::string(compression_name(s.location.compression)) + " data",
                      s.location.payload_offset);
}

// A qcow2 image: the chosen snapshot's VM state, read through its L1/L2
// tables into an unlinked temporary file, which is then walked.
Status read_snapshot(OpenStream& s, const std::string& which) {
  s.container = std::move(s.file);
  s.contained = true;
  const Bytes image = s.container.bytes();
  MIGSCOPE_ASSIGN(Qcow2Image qcow2, read_qcow2(image));
  MIGSCOPE_ASSIGN(const Qcow2Snapshot* chosen, choose_snapshot(qcow2, which));
  s.snapshot = *chosen;
  if (chosen->vm_state_size == 0)
    return make_error(ErrorCode::usage, Error::no_offset, "qcow2 snapshot " + chosen->id + " '" + chosen->name + "' has no VM state (disk only)");
  // A savevm stream has no long runs of zero bytes, so its clusters are in the
  // file: a VM state far larger than the image is a lie, not a stream.
  const std::uint64_t limit = std::max<std::uint64_t>(std::uint64_t{1} << 30, image.size() * std::uint64_t{64});
  if (chosen->vm_state_size > limit)
    return make_error(ErrorCode::corrupt, chosen->entry_offset,
                      "qcow2 snapshot " + chosen->id + " claims a VM state of " + std::to_string(chosen->vm_state_size) +
                          " bytes in an image of " + std::to_string(image.size()));
  // Its clusters mapped one after the other, in place: walked like a file.
  // (Extents must end inside the image: vmstate_extents checks the tables,
  // the data ranges are checked here.)
  constexpr std::size_t kMaxExtents = 4096;
  std::optional<std::vector<VmstateExtent>> extents = vmstate_extents(image, qcow2, *chosen, kMaxExtents);
  const bool inside = extents && std::all_of(extents->begin(), extents->end(), [&](const VmstateExtent& e) {
    return e.zero || (e.host <= image.size() && e.length <= image.size() - e.host);
  });
  if (inside) s.stitched = StitchedMapping::map(s.container.path(), *extents, chosen->vm_state_size);
  if (s.stitched) {
    const Bytes in_place = s.stitched->bytes();
    auto inner = locate_stream(in_place);
    if (!inner.ok()) {
      Error e = std::move(inner).error();
      e.detail = "the VM state of qcow2 snapshot " + chosen->id + ": " + e.detail;
      return e;
    }
    if (inner->format != InputFormat::qemu_stream || inner->compression != Compression::none)
      return make_error(ErrorCode::not_a_stream, chosen->entry_offset,
                        "the VM state of qcow2 snapshot " + chosen->id + " is not a QEMU stream but another wrapper");
    s.view = in_place;
    s.location.stream_offset = inner->stream_offset;
    return {};
  }
  auto shared = std::make_shared<const Qcow2Image>(std::move(qcow2));
  const Qcow2Snapshot snapshot = *s.snapshot;
  auto reopen = [image, shared, snapshot, name = s.container.path()]() -> Result<std::unique_ptr<SequentialReader>> {
    return open_vmstate(image, *shared, snapshot, name);
  };
  return stream_from(s, std::move(reopen), limit, "the VM state of qcow2 snapshot " + chosen->id, chosen->entry_offset);
}

}  // namespace

Result<OpenStream> open_stream(const std::string& path, const OpenOptions& options) {
  MIGSCOPE_ASSIGN(InputFile file, InputFile::open(path));
  return open_stream(std::move(file), options);
}

// Locate the stream (decompressing it, or reading it out of a qcow2 snapshot,
// if need be) and its trailer.
Result<OpenStream> open_input(InputFile file, const std::string& snapshot = {}) {
  OpenStream s;
  s.file = std::move(file);
  MIGSCOPE_ASSIGN(s.location, locate_stream(s.file.bytes()));
  if (s.location.format == InputFormat::qcow2) MIGSCOPE_TRY(read_snapshot(s, snapshot));
  else if (!snapshot.empty())
    return make_error(ErrorCode::usage, Error::no_offset, "a snapshot was named, but the input is not a qcow2 image");
  if (s.location.compression != Compression::none) MIGSCOPE_TRY(name_if_incomplete(s.location, decompress(s)));
  // A streamed input's trailer is learnt by its first walk (or by complete()).
  if (!s.streamed()) s.trailer = find_vmdesc_trailer(s.stream_bytes(), s.location.stream_offset);
  return s;
}

Bytes OpenStream::bytes() const noexcept {
  if (window) return Bytes{window->base(), static_cast<std::size_t>(window->filled())};
  if (!view.empty()) return view;
  return file.bytes();
}

Result<std::unique_ptr<StreamWindow>> OpenStream::start(bool read_once) const {
  MIGSCOPE_ASSIGN(std::unique_ptr<SequentialReader> reader, reopen());
  return StreamWindow::start(std::move(reader), limit, container.path(),
                             read_once ? StreamWindow::Kind::once : StreamWindow::Kind::spool);
}

Result<Bytes> OpenStream::prepare(bool read_once) const {
  if (!streamed()) return bytes();
  if (!window) {
    if (read_once) {
      if (!next_once) {
        MIGSCOPE_ASSIGN(next_once, start(true));
      }
      return Bytes{next_once->base(), static_cast<std::size_t>(next_once->reserved())};
    }
    MIGSCOPE_ASSIGN(window, start(false));
  }
  return Bytes{window->base(), static_cast<std::size_t>(window->reserved())};
}

// What a walk to the end of a streamed input learnt: its trailer (kept here,
// as the window it was read from may go), description and size.
Status OpenStream::learn(std::optional<VmdescTrailer> t, std::optional<Vmdesc> v, std::uint64_t size) const {
  stream_size = size;
  if (description_known) return {};
  if (t) {
    trailer_json.assign(t->json);
    t->json = trailer_json;
  }
  trailer = t;
  if (external_vmdesc.empty()) {
    if (v) vmdesc.emplace(std::move(*v));
    else if (trailer) {
      MIGSCOPE_ASSIGN(Vmdesc parsed, Vmdesc::parse(trailer->json, trailer->offset + 5));
      vmdesc.emplace(std::move(parsed));
    }
  }
  description_known = true;
  return {};
}

Status OpenStream::complete() const {
  if (!streamed()) return {};
  MIGSCOPE_TRY(prepare(false));
  MIGSCOPE_ASSIGN(Bytes all, window->wait_all());
  if (description_known) {
    stream_size = all.size();
    return {};
  }
  return learn(find_vmdesc_trailer(all.subspan(location.stream_offset), location.stream_offset), std::nullopt, all.size());
}

Status OpenStream::stream_out(const std::function<Status(Bytes piece)>& emit) const {
  constexpr std::uint64_t kPiece = 8u << 20;
  last_once.reset();
  MIGSCOPE_ASSIGN(last_once, start(true));
  StreamWindow& w = *last_once;
  std::uint64_t at = 0;
  for (;;) {
    const std::uint64_t filled = w.wait_for(at + kPiece, at);
    while (at < filled) {
      const std::uint64_t end = std::min(filled, at + kPiece);
      MIGSCOPE_TRY(emit(Bytes{w.base() + at, static_cast<std::size_t>(end - at)}));
      at = end;
    }
    if (w.ended() && at == w.filled()) break;
  }
  if (const Error* e = w.failure()) return *e;
  stream_size = at;
  return {};
}

Result<WalkSummary> OpenStream::walk(StreamVisitor& visitor, WalkOptions options, WalkSummary* partial) const {
  options.vmdesc = vmdesc ? &*vmdesc : nullptr;
  options.strict = options.strict || strict;
  consumed->store(0, std::memory_order_relaxed);
  // A decompressed input counts what its decompressor read; a mapped one (or a
  // qcow2 VM state, read in place of the image's size), the walk.
  if (!options.progress && (!streamed() || location.compression == Compression::none)) options.progress = consumed.get();
  if (!streamed()) return walk_stream(bytes(), walk_location(), options, visitor, partial);
  // The spool, if there is one (it keeps every byte); else, for a walk that
  // reads once, a window of its own (made by prepare() or now).
  StreamWindow* w = window.get();
  if (!w && options.read_once) {
    last_once.reset();
    if (next_once) {
      last_once = std::move(next_once);
    } else {
      MIGSCOPE_ASSIGN(last_once, start(true));
    }
    w = last_once.get();
    // Its memory is anonymous: releasing it would lose it; it frees itself.
    options.release_behind = false;
  }
  if (!w) {
    MIGSCOPE_TRY(prepare(false));
    w = window.get();
  }
  const GrowingInput in{w->base(), w->reserved(), w};
  // The stream may end well before its source does (damage after the last
  // byte QEMU wrote, a missing end marker): that is damage too.
  auto checked = [&](Result<WalkSummary> r) -> Result<WalkSummary> {
    if (r.ok() && w->failure()) return *w->failure();
    return r;
  };
  DeferredWalk learnt;
  if (description_known) options.vmdesc = vmdesc ? &*vmdesc : nullptr;
  auto summary = checked(walk_growing(in, walk_location(), options, visitor, partial, &learnt));
  if (!learnt.needs_description) {
    if (summary.ok()) MIGSCOPE_TRY(learn(std::move(learnt.trailer), std::move(learnt.vmdesc), w->filled()));
    return summary;
  }
  // Rare (a stream without section footers, mapped-ram in a read-once
  // window, ...): the whole stream, kept, then walked again with the
  // description, past what the visitor has had.
  MIGSCOPE_TRY(complete());
  options.vmdesc = vmdesc ? &*vmdesc : nullptr;
  ResumingVisitor resume(visitor, learnt);
  w = window.get();
  const GrowingInput all{w->base(), w->reserved(), w};
  return checked(walk_growing(all, walk_location(), options, resume, partial, nullptr));
}

Result<OpenStream> open_stream(InputFile file, const OpenOptions& options) {
  MIGSCOPE_ASSIGN(OpenStream s, open_input(std::move(file), options.snapshot));
  s.strict = options.strict;
  const std::string& vmdesc_path = options.vmdesc_path;
  if (!vmdesc_path.empty()) {
    MIGSCOPE_ASSIGN(s.external_vmdesc, slurp(vmdesc_path));
    auto parsed = Vmdesc::parse(s.external_vmdesc, Error::no_offset);
    if (!parsed.ok()) {
      Error e = std::move(parsed).error();
      e.detail = vmdesc_path + ": " + e.detail;
      return e;
    }
    s.vmdesc.emplace(std::move(parsed).value());
    s.description_known = true;  // the window's own trailer is not needed
  } else if (s.trailer) {
    MIGSCOPE_ASSIGN(Vmdesc v, Vmdesc::parse(s.trailer->json, s.trailer->offset + 5));
    s.vmdesc.emplace(std::move(v));
  }
  return s;
}

Dump::Dump(std::unique_ptr<OpenStream> s) : stream_(std::move(s)) {}
Dump::Dump(Dump&&) noexcept = default;
Dump& Dump::operator=(Dump&&) noexcept = default;
Dump::~Dump() = default;

Result<Dump> Dump::open(const std::string& path, const OpenOptions& options) {
  MIGSCOPE_ASSIGN(OpenStream s, open_stream(path, options));
  return Dump(std::make_unique<OpenStream>(std::move(s)));
}

Result<Dump> Dump::open(const std::string& path, const std::string& vmdesc_path) {
  OpenOptions options;
  options.vmdesc_path = vmdesc_path;
  return open(path, options);
}

Result<Dump> Dump::open(SequentialReader& reader, const std::string& vmdesc_path) {
  MIGSCOPE_ASSIGN(InputFile file, InputFile::spool(reader));
  OpenOptions options;
  options.vmdesc_path = vmdesc_path;
  MIGSCOPE_ASSIGN(OpenStream s, open_stream(std::move(file), options));
  return Dump(std::make_unique<OpenStream>(std::move(s)));
}

const Qcow2Snapshot* Dump::snapshot() const noexcept { return stream_->snapshot ? &*stream_->snapshot : nullptr; }

const std::string& Dump::path() const noexcept { return stream_->file.path(); }
Bytes Dump::bytes() const noexcept {
  (void)stream_->complete();  // errors: see random_access()
  return stream_->bytes();
}
Result<Bytes> Dump::random_access() const {
  MIGSCOPE_TRY(stream_->complete());
  return stream_->bytes();
}
std::uint64_t Dump::size() const noexcept {
  if (stream_->streamed() && stream_->stream_size) return *stream_->stream_size;
  return bytes().size();
}
bool Dump::description_pending() const noexcept { return !stream_->description_known; }
const StreamLocation& Dump::location() const noexcept { return stream_->location; }
const Vmdesc* Dump::vmdesc() const noexcept { return stream_->vmdesc ? &*stream_->vmdesc : nullptr; }
std::uint64_t Dump::input_size() const noexcept { return stream_->input().size(); }
Progress Dump::progress() const noexcept {
  return {stream_->consumed->load(std::memory_order_relaxed), stream_->input().size()};
}
const LibvirtHeader* Dump::libvirt() const noexcept {
  return stream_->location.libvirt ? &*stream_->location.libvirt : nullptr;
}
bool Dump::vmdesc_from_file() const noexcept { return !stream_->external_vmdesc.empty(); }
std::size_t Dump::device_count() const noexcept { return stream_->vmdesc ? stream_->vmdesc->device_count() : 0; }

Result<WalkSummary> Dump::walk(StreamVisitor& visitor, WalkOptions options, WalkSummary* partial) const {
  return stream_->walk(visitor, options, partial);
}

Status settle_description(const Dump& dump) {
  if (!dump.description_pending() && dump.vmdesc()) return {};
  StreamVisitor nothing;
  WalkOptions once;
  once.read_once = true;
  MIGSCOPE_TRY(dump.walk(nothing, once));
  return {};
}

Result<std::string> read_vmdesc_json(const std::string& path) {
  MIGSCOPE_ASSIGN(Dump dump, Dump::open(path));
  MIGSCOPE_TRY(settle_description(dump));
  const OpenStream& s = dump.stream();
  if (!s.trailer)
    return make_error(ErrorCode::unsupported, Error::no_offset,
                      "no VMDESCRIPTION trailer (postcopy, suppress-vmdesc or an old machine type)");
  return std::string(s.trailer->json);
}

}  // namespace migscope
