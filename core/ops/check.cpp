// check: loading the documents (streams recognised by their first bytes,
// their vmdesc trailers compared) and running the checker.
#include "migscope/ops.h"
#include "stream/open.h"

namespace migscope::ops {

Result<VmstateInput> load_vmstate(const std::string& path) {
  VmstateInput in;
  if (file_starts_like_stream(path)) {
    MIGSCOPE_ASSIGN(std::string json, read_vmdesc_json(path));
    MIGSCOPE_ASSIGN(in.dump, compat::parse_vmdesc(json));
    in.from_stream = true;
    return in;
  }
  MIGSCOPE_ASSIGN(std::string text, compat::read_text_file(path));
  MIGSCOPE_ASSIGN(in.dump, compat::parse_vmstate_any(text));
  return in;
}

Result<compat::VmstateDump> load_vmstate_dump(const std::string& path) {
  MIGSCOPE_ASSIGN(std::string text, compat::read_text_file(path));
  return compat::parse_vmstate_dump(text);
}

Result<compat::RenameTable> builtin_renames(bool use_builtin) {
  if (!use_builtin) return compat::RenameTable{};
  return compat::builtin_renames();
}

Status load_renames(const std::string& path, compat::RenameTable& table) {
  MIGSCOPE_ASSIGN(std::string text, compat::read_text_file(path));
  MIGSCOPE_ASSIGN(compat::RenameTable more, compat::parse_renames(text));
  compat::merge_renames(table, more);
  return {};
}

Result<compat::Baseline> load_baseline(const std::string& path) {
  MIGSCOPE_ASSIGN(std::string text, compat::read_text_file(path));
  return compat::parse_baseline(text);
}

Result<compat::CheckReport> check(const VmstateInput& src, const VmstateInput& dest, const compat::RenameTable& renames,
                                  const CheckOptions& options) {
  if (src.dump.origin != dest.dump.origin)
    return make_error(ErrorCode::usage, Error::no_offset,
                      "cannot compare a -dump-vmstate file with a stream description (vmdesc)");
  const auto& s = options.reverse ? dest.dump : src.dump;
  const auto& d = options.reverse ? src.dump : dest.dump;
  return compat::check_vmstate(s, d, renames);
}

}  // namespace migscope::ops
