// check without streams or decompression: the plain-text pair loader, the
// rename tables and baselines, and the comparison. Apart from check.cpp
// (streams, compressed documents) so that the vmstate-static-checker
// drop-in, which needs only this, does not load Boost.Iostreams, zlib,
// bzip2, xz, zstd and LZO at start-up (a hello-world linked to them: 2.4-2.6
// ms against 1.9 ms without, perf stat -r 200).
#include "migscope/ops.h"
#include "ops/load_pair.h"

namespace migscope::ops {

std::pair<Result<compat::VmstateDump>, Result<compat::VmstateDump>> load_plain_vmstate_dump_pair(
    const std::string& first, const std::string& second, bool lenient) {
  return detail::load_both(first, second, [lenient](const std::string& path) -> Result<compat::VmstateDump> {
    MIGSCOPE_ASSIGN(std::string text, compat::read_text_file(path));
    compat::ParseLimits limits;
    limits.lenient = lenient;
    return compat::parse_vmstate_dump_in_place(text, limits);
  });
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
