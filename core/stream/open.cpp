#include "stream/open.h"

#include <algorithm>

#include "input/decompress.h"
#include "input/qcow2.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

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

// Spool `reader` (at most `limit` bytes) into `s.file`, where a plain stream
// must start: that is what gets walked. `what` names it in errors.
Status walk_spooled(OpenStream& s, SequentialReader& reader, std::uint64_t limit, const std::string& what,
                    std::uint64_t at) {
  auto spooled = InputFile::spool(reader, limit);
  if (!spooled.ok()) return std::move(spooled).error();
  s.file = std::move(spooled).value();
  auto inner = locate_stream(s.file.bytes());
  if (!inner.ok()) {
    Error e = std::move(inner).error();
    e.detail = what + ": " + e.detail;
    return e;
  }
  if (inner->format != InputFormat::qemu_stream || inner->compression != Compression::none)
    return make_error(ErrorCode::not_a_stream, at, what + " is not a QEMU stream but another wrapper");
  s.location.stream_offset = inner->stream_offset;
  return {};
}

// A compressed stream (a libvirt save of format 1-5, a compressed dump):
// decompressed into an unlinked temporary file, which is then walked; the
// input stays mapped for its header and domain XML.
Status decompress(OpenStream& s) {
  s.container = std::move(s.file);
  s.contained = true;
  const Bytes payload = s.container.bytes().subspan(s.location.payload_offset);
  const std::string name = s.container.path();
  MIGSCOPE_ASSIGN(std::unique_ptr<SequentialReader> reader,
                  make_decompressor(payload, s.location.compression, name, s.location.payload_offset));
  // An incomplete save (LibvirtQemudPart) is cut short: its stream is what decompresses before the cut.
  if (s.location.libvirt && !s.location.libvirt->complete) reader = end_at_damage(std::move(reader));
  // A migration stream compresses well (zero-page records), but not without bound.
  const std::uint64_t limit = std::max<std::uint64_t>(std::uint64_t{1} << 30, payload.size() * std::uint64_t{1024});
  return walk_spooled(s, *reader, limit, "the decompressed " + std::string(compression_name(s.location.compression)) + " data",
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
  auto reader = open_vmstate(image, qcow2, *chosen, s.container.path());
  return walk_spooled(s, *reader, limit, "the VM state of qcow2 snapshot " + chosen->id, chosen->entry_offset);
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
  s.trailer = find_vmdesc_trailer(s.stream_bytes(), s.location.stream_offset);
  return s;
}

Result<OpenStream> open_stream(InputFile file, const OpenOptions& options) {
  MIGSCOPE_ASSIGN(OpenStream s, open_input(std::move(file), options.snapshot));
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
Bytes Dump::bytes() const noexcept { return stream_->bytes(); }
const StreamLocation& Dump::location() const noexcept { return stream_->location; }
const Vmdesc* Dump::vmdesc() const noexcept { return stream_->vmdesc ? &*stream_->vmdesc : nullptr; }
std::uint64_t Dump::input_size() const noexcept { return stream_->input().size(); }
const LibvirtHeader* Dump::libvirt() const noexcept {
  return stream_->location.libvirt ? &*stream_->location.libvirt : nullptr;
}
bool Dump::vmdesc_from_file() const noexcept { return !stream_->external_vmdesc.empty(); }
std::size_t Dump::device_count() const noexcept { return stream_->vmdesc ? stream_->vmdesc->device_count() : 0; }

Result<WalkSummary> Dump::walk(StreamVisitor& visitor, WalkOptions options, WalkSummary* partial) const {
  options.vmdesc = vmdesc();
  return walk_stream(bytes(), stream_->walk_location(), options, visitor, partial);
}

Result<std::string> read_vmdesc_json(const std::string& path) {
  MIGSCOPE_ASSIGN(InputFile file, InputFile::open(path));
  MIGSCOPE_ASSIGN(OpenStream s, open_input(std::move(file)));
  if (!s.trailer)
    return make_error(ErrorCode::unsupported, Error::no_offset,
                      "no VMDESCRIPTION trailer (postcopy, suppress-vmdesc or a truncated stream)");
  return std::string(s.trailer->json);
}

}  // namespace migscope
