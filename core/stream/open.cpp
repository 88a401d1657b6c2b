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
  OpenStream s;
  MIGSCOPE_ASSIGN(s.file, InputFile::open(path));
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
