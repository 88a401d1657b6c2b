// Writing into an output directory safely: names never escape it (no "..",
// no absolute paths, symlinks already in it are not followed), existing files
// are not replaced unless asked, and every file is written as an unnamed
// temporary file (O_TMPFILE; a uniquely named one where the file system has
// none) and linked into place only when the whole job succeeded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "migscope/error.h"

namespace migscope {

/// Map a RAM block name (arbitrary bytes) to a relative path inside the output
/// directory: '/'-separated components, empty and "." components dropped, ".."
/// and bytes outside [A-Za-z0-9._@:+,=-] percent-encoded (%2e%2e, %00, %25
/// for '%' itself); an empty result becomes "%empty".
std::string safe_relative_path(std::string_view name);

class OutputDir {
 public:
  ~OutputDir();
  OutputDir(OutputDir&&) noexcept;
  OutputDir& operator=(OutputDir&&) = delete;
  OutputDir(const OutputDir&) = delete;

  /// Open (creating it if missing) the directory `path`.
  static Result<OutputDir> open(const std::string& path, bool force);

  /// Check that `relative` (from safe_relative_path) can be created: it does not
  /// exist (unless force, and then it must be a regular file), its parents are
  /// directories, not symlinks. Also refuses two outputs with the same path or
  /// where one would be the directory of another.
  Status reserve(const std::string& relative);

  /// Create the temporary file for `relative` (creating parent directories);
  /// returns its descriptor, owned by this object.
  Result<int> create(const std::string& relative, std::uint64_t size);

  /// Rename every temporary file into place. On failure, or without a commit,
  /// the destructor removes the temporary files, and the directories this
  /// object created if they are empty: a failed run leaves nothing behind.
  Status commit();

  const std::string& path() const noexcept { return path_; }

 private:
  OutputDir() = default;
  Result<int> open_parent(const std::string& relative, bool create_dirs, std::string* leaf);
  void remove_temporaries();

  struct Pending {
    std::string relative;
    std::string temp_leaf, leaf;
    int dir_fd = -1;
    int fd = -1;
    int slot = -1;  // of a named temporary file in the interrupt registry
  };
  std::string path_;
  int dir_fd_ = -1;
  bool force_ = false;
  std::vector<std::string> reserved_;
  std::vector<Pending> pending_;
  std::vector<std::string> created_paths_;     // by open(), outermost first
  std::vector<std::string> created_relative_;  // under path_, outermost first
  std::vector<int> created_slots_;             // of both, in the interrupt registry
  bool committed_ = false;
};

/// pwrite() all of `n` bytes, going on after a short write (a disk filling
/// up writes part, then fails with ENOSPC). False with errno set on failure.
bool pwrite_all(int fd, const void* data, std::size_t n, std::uint64_t offset);

/// One output file `path`: its directory opened as an OutputDir with the
/// file reserved and created under its temporary name; commit() renames it.
struct OutputFile {
  OutputDir dir;
  int fd = -1;
};
Result<OutputFile> open_output_file(const std::string& path, bool force);

}  // namespace migscope
