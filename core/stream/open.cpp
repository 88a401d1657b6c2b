#include "stream/open.h"

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

}  // namespace

Result<OpenStream> open_stream(const std::string& path, const std::string& vmdesc_path) {
  MIGSCOPE_ASSIGN(InputFile file, InputFile::open(path));
  return open_stream(std::move(file), vmdesc_path);
}

Result<OpenStream> open_stream(InputFile file, const std::string& vmdesc_path) {
  OpenStream s;
  s.file = std::move(file);
  MIGSCOPE_ASSIGN(s.location, locate_stream(s.file.bytes()));
  s.trailer = find_vmdesc_trailer(s.stream_bytes(), s.location.stream_offset);
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

Result<Dump> Dump::open(const std::string& path, const std::string& vmdesc_path) {
  MIGSCOPE_ASSIGN(OpenStream s, open_stream(path, vmdesc_path));
  return Dump(std::make_unique<OpenStream>(std::move(s)));
}

Result<Dump> Dump::open(SequentialReader& reader, const std::string& vmdesc_path) {
  MIGSCOPE_ASSIGN(InputFile file, InputFile::spool(reader));
  MIGSCOPE_ASSIGN(OpenStream s, open_stream(std::move(file), vmdesc_path));
  return Dump(std::make_unique<OpenStream>(std::move(s)));
}

const std::string& Dump::path() const noexcept { return stream_->file.path(); }
Bytes Dump::bytes() const noexcept { return stream_->bytes(); }
const StreamLocation& Dump::location() const noexcept { return stream_->location; }
const Vmdesc* Dump::vmdesc() const noexcept { return stream_->vmdesc ? &*stream_->vmdesc : nullptr; }
bool Dump::vmdesc_from_file() const noexcept { return !stream_->external_vmdesc.empty(); }
std::size_t Dump::device_count() const noexcept { return stream_->vmdesc ? stream_->vmdesc->device_count() : 0; }

Result<WalkSummary> Dump::walk(StreamVisitor& visitor, WalkOptions options, WalkSummary* partial) const {
  options.vmdesc = vmdesc();
  return walk_stream(bytes(), location(), options, visitor, partial);
}

Result<std::string> read_vmdesc_json(const std::string& path) {
  MIGSCOPE_ASSIGN(InputFile file, InputFile::open(path));
  MIGSCOPE_ASSIGN(StreamLocation loc, locate_stream(file.bytes()));
  auto trailer = find_vmdesc_trailer(file.bytes().subspan(loc.stream_offset), loc.stream_offset);
  if (!trailer)
    return make_error(ErrorCode::unsupported, Error::no_offset,
                      "no VMDESCRIPTION trailer (postcopy, suppress-vmdesc or a truncated stream)");
  return std::string(trailer->json);
}

}  // namespace migscope
