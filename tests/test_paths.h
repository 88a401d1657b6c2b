// Where tests find the corpus and the built executables.
#pragma once
#include <cstdint>
#include <string>

namespace migscope::test {
std::string source_dir();          ///< the repository root
std::string binary_dir();          ///< the CMake build directory (executables live in tools/)
std::string corpus_dir();          ///< <source>/corpus
std::string shared_dir();          ///< ../shared next to the repository (may not exist)
std::string tool_path(const std::string& name);  ///< <build>/tools/<name>
/// Run a shell command, capture stdout (and stderr if `merge_stderr`), return exit status.
int run_command(const std::string& cmd, std::string* out, bool merge_stderr = false);
std::string read_file(const std::string& path);
/// Resident bytes of this process's mapping that starts at `start` (its
/// /proc/self/smaps entry); UINT64_MAX if there is none.
std::uint64_t mapping_resident_bytes(const void* start);
}  // namespace migscope::test
