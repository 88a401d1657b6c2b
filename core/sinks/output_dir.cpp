#include "sinks/output_dir.h"

#include "migscope/ops.h"

#include <atomic>
#include <cerrno>
#include <iterator>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace migscope {

namespace {

bool plain_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '@' || c == ':' || c == '+' || c == ',' || c == '=' || c == '-';
}

Error os_error(std::string what) {
  return make_error(ErrorCode::io, Error::no_offset,
                    what + ": " + std::strerror(errno));
}

// "a/b/" of "a/b/c"; "" of "c".
std::string parent_of(const std::string& rel) {
  const auto slash = rel.rfind('/');
  return slash == std::string::npos ? std::string() : rel.substr(0, slash + 1);
}

std::vector<std::string> split(const std::string& rel) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= rel.size()) {
    std::size_t slash = rel.find('/', start);
    if (slash == std::string::npos) slash = rel.size();
    parts.push_back(rel.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

// What unfinished outputs have on disk under a name (a temporary file where
// O_TMPFILE is not supported, a directory made for an output), for
// ops::remove_partial_outputs() to take back from a signal handler: fixed
// slots, no allocation, no lock. Constant-initialised (zero, in .bss): the
// 1 MiB is not touched at start-up, only the slots an output uses.
struct PartialSlot {
  std::atomic<int> state{0};  // 0 free, 1 being filled, 2 registered
  std::atomic<unsigned long> order{0};
  bool directory = false;
  char path[4096] = {};
};
constinit PartialSlot g_partial[256];
constinit std::atomic<unsigned long> g_partial_order{0};

// Returns the slot, or -1 when the path is too long or every slot is taken
// (then only an interrupt leaves that name behind).
int register_partial(const std::string& path, bool directory) {
  if (path.size() >= sizeof g_partial[0].path) return -1;
  for (int i = 0; i < static_cast<int>(std::size(g_partial)); ++i) {
    int expected = 0;
    if (!g_partial[i].state.compare_exchange_strong(expected, 1)) continue;
    std::memcpy(g_partial[i].path, path.c_str(), path.size() + 1);
    g_partial[i].directory = directory;
    g_partial[i].order.store(++g_partial_order);
    g_partial[i].state.store(2);
    return i;
  }
  return -1;
}

void unregister_partial(int slot) {
  if (slot >= 0) g_partial[slot].state.store(0);
}

// An unnamed file in `dir_fd` (O_TMPFILE): nothing of it remains if the
// process dies before it is linked into place. -1 where the file system
// cannot (then a named temporary file is used).
int open_unnamed(int dir_fd) {
#ifdef O_TMPFILE
  return ::openat(dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
#else
  (void)dir_fd;
  errno = EOPNOTSUPP;
  return -1;
#endif
}

// Give the unnamed file `fd` the name `leaf` in `dir_fd`; fails with EEXIST
// if the name exists (never replaces, never follows a symlink there).
int link_unnamed(int fd, int dir_fd, const char* leaf) {
  const std::string proc = "/proc/self/fd/" + std::to_string(fd);
  int rc = ::linkat(AT_FDCWD, proc.c_str(), dir_fd, leaf, AT_SYMLINK_FOLLOW);
  if (rc != 0 && errno == ENOENT && ::access("/proc/self/fd", F_OK) != 0)
    rc = ::linkat(fd, "", dir_fd, leaf, AT_EMPTY_PATH);  // no /proc: needs CAP_DAC_READ_SEARCH
  return rc;
}

std::atomic<unsigned> g_temp_counter{0};

std::string unique_temp_leaf(const std::string& leaf) {
  return "." + leaf + "." + std::to_string(::getpid()) + "-" + std::to_string(++g_temp_counter) + ".migscope-partial";
}

}  // namespace

namespace ops {
void remove_partial_outputs() noexcept {
  // Newest first, so a directory is empty of what was made in it.
  for (;;) {
    int newest = -1;
    unsigned long best = 0;
    for (int i = 0; i < static_cast<int>(std::size(g_partial)); ++i)
      if (g_partial[i].state.load() == 2 && g_partial[i].order.load() > best) {
        best = g_partial[i].order.load();
        newest = i;
      }
    if (newest < 0) return;
    if (g_partial[newest].directory)
      ::rmdir(g_partial[newest].path);
    else
      ::unlink(g_partial[newest].path);
    g_partial[newest].state.store(0);
  }
}
}  // namespace ops

std::string safe_relative_path(std::string_view name) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t slash = name.find('/', start);
    if (slash == std::string_view::npos) slash = name.size();
    std::string_view comp = name.substr(start, slash - start);
    start = slash + 1;
    if (comp.empty() || comp == ".") continue;
    if (!out.empty()) out += '/';
    if (comp == "..") {
      out += "%2e%2e";
      continue;
    }
    for (char ch : comp) {
      auto c = static_cast<unsigned char>(ch);
      if (plain_byte(c)) {
        out += ch;
      } else {
        out += '%';
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
      }
    }
  }
  return out.empty() ? "%empty" : out;
}

OutputDir::OutputDir(OutputDir&& o) noexcept
    : path_(std::move(o.path_)), dir_fd_(o.dir_fd_), force_(o.force_), reserved_(std::move(o.reserved_)),
      pending_(std::move(o.pending_)), created_paths_(std::move(o.created_paths_)),
      created_relative_(std::move(o.created_relative_)), created_slots_(std::move(o.created_slots_)),
      committed_(o.committed_) {
  o.dir_fd_ = -1;
  o.pending_.clear();
  o.created_paths_.clear();
  o.created_relative_.clear();
  o.created_slots_.clear();
}

OutputDir::~OutputDir() {
  remove_temporaries();
  // Without a commit, take back the directories this run made; rmdir only
  // removes an empty one, so what another writer put there stays.
  if (!committed_ && dir_fd_ >= 0)
    for (auto it = created_relative_.rbegin(); it != created_relative_.rend(); ++it)
      ::unlinkat(dir_fd_, it->c_str(), AT_REMOVEDIR);
  if (dir_fd_ >= 0) ::close(dir_fd_);
  if (!committed_)
    for (auto it = created_paths_.rbegin(); it != created_paths_.rend(); ++it) ::rmdir(it->c_str());
  for (int slot : created_slots_) unregister_partial(slot);
}

Result<OutputDir> OutputDir::open(const std::string& path, bool force) {
  OutputDir d;
  d.path_ = path;
  d.force_ = force;
  // Like mkdir -p: create missing parents too.
  for (std::size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string prefix = path.substr(0, slash);
    if (!prefix.empty()) {
      if (::mkdir(prefix.c_str(), 0777) == 0) {
        d.created_paths_.push_back(prefix);
        d.created_slots_.push_back(register_partial(prefix, true));
      }
      else if (errno != EEXIST)
        return os_error("cannot create output directory " + prefix);
    }
    if (slash == std::string::npos) break;
  }
  d.dir_fd_ = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d.dir_fd_ < 0) return os_error("cannot open output directory " + path);
  return d;
}

Result<int> OutputDir::open_parent(const std::string& relative, bool create_dirs, std::string* leaf) {
  std::vector<std::string> parts = split(relative);
  *leaf = parts.back();
  int fd = ::dup(dir_fd_);
  if (fd < 0) return os_error("dup");
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    int next = ::openat(fd, parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && create_dirs) {
      if (::mkdirat(fd, parts[i].c_str(), 0777) == 0) {
        std::string made = parts[0];
        for (std::size_t k = 1; k <= i; ++k) made += "/" + parts[k];
        created_slots_.push_back(register_partial(path_ + "/" + made, true));
        created_relative_.push_back(std::move(made));
      } else if (errno != EEXIST) {
        Error e = os_error("cannot create directory " + path_ + "/" + relative);
        ::close(fd);
        return e;
      }
      next = ::openat(fd, parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (next < 0) {
      int err = errno;
      ::close(fd);
      if (err == ENOENT && !create_dirs) return -1;  // nothing there yet
      if (err == ELOOP || err == ENOTDIR)
        return make_error(ErrorCode::output_refused, Error::no_offset,
                          path_ + "/" + relative + ": '" + parts[i] + "' is a symlink or not a directory; refusing to write through it");
      errno = err;
      return os_error("cannot open directory for " + path_ + "/" + relative);
    }
    ::close(fd);
    fd = next;
  }
  return fd;
}

Status OutputDir::reserve(const std::string& relative) {
  for (const auto& r : reserved_) {
    if (r == relative)
      return make_error(ErrorCode::output_refused, Error::no_offset, "two outputs map to the same path '" + relative + "'");
    const std::string& shorter = r.size() < relative.size() ? r : relative;
    const std::string& longer = r.size() < relative.size() ? relative : r;
    if (longer.compare(0, shorter.size(), shorter) == 0 && longer[shorter.size()] == '/')
      return make_error(ErrorCode::output_refused, Error::no_offset,
                        "output '" + shorter + "' would be the directory of output '" + longer + "'");
  }
  std::string leaf;
  MIGSCOPE_ASSIGN(int parent, open_parent(relative, false, &leaf));
  if (parent >= 0) {
    struct stat st {};
    int rc = ::fstatat(parent, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW);
    ::close(parent);
    if (rc == 0) {
      if (!S_ISREG(st.st_mode))
        return make_error(ErrorCode::output_refused, Error::no_offset,
                          path_ + "/" + relative + " exists and is not a regular file; refusing to replace it");
      if (!force_)
        return make_error(ErrorCode::output_refused, Error::no_offset,
                          path_ + "/" + relative + " already exists", Remedy::allow_overwrite);
    }
  }
  reserved_.push_back(relative);
  return {};
}

Result<int> OutputDir::create(const std::string& relative, std::uint64_t size) {
  Pending p;
  p.relative = relative;
  MIGSCOPE_ASSIGN(p.dir_fd, open_parent(relative, true, &p.leaf));
  p.fd = open_unnamed(p.dir_fd);
  if (p.fd < 0) {
    // No O_TMPFILE here: a named temporary file, unique to this process and
    // this output (another writer's is never touched), removed on failure
    // and by ops::remove_partial_outputs() on an interrupt.
    p.temp_leaf = unique_temp_leaf(p.leaf);
    p.fd = ::openat(p.dir_fd, p.temp_leaf.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (p.fd >= 0) p.slot = register_partial(path_ + "/" + parent_of(relative) + p.temp_leaf, false);
  }
  if (p.fd < 0) {
    Error e = os_error("cannot create " + path_ + "/" + relative);
    ::close(p.dir_fd);
    return e;
  }
  pending_.push_back(p);
  if (size > 0 && ::ftruncate(p.fd, static_cast<off_t>(size)) != 0)
    return os_error("cannot size " + path_ + "/" + relative + " to " + std::to_string(size) + " bytes");
  return p.fd;
}

Status OutputDir::commit() {
  // Each file gets its final name only if that name is still free (without
  // force): a file or symlink that appeared there meanwhile (another writer,
  // or a swap) is left as it is and this output is refused. With force the
  // name is replaced by a rename, which replaces a symlink itself and never
  // writes through it.
  std::vector<const Pending*> placed;
  auto undo = [&] {
    // What this commit already placed goes again, so that a refused or failed
    // run leaves no part of its output.
    if (!force_)
      for (const Pending* q : placed) ::unlinkat(q->dir_fd, q->leaf.c_str(), 0);
  };
  for (auto& p : pending_) {
    int rc;
    if (p.temp_leaf.empty()) {
      if (force_) {
        const std::string temp = unique_temp_leaf(p.leaf);
        rc = link_unnamed(p.fd, p.dir_fd, temp.c_str());
        if (rc == 0) {
          rc = ::renameat(p.dir_fd, temp.c_str(), p.dir_fd, p.leaf.c_str());
          if (rc != 0) {
            const int err = errno;
            ::unlinkat(p.dir_fd, temp.c_str(), 0);
            errno = err;
          }
        }
      } else {
        rc = link_unnamed(p.fd, p.dir_fd, p.leaf.c_str());
      }
    } else if (force_) {
      rc = ::renameat(p.dir_fd, p.temp_leaf.c_str(), p.dir_fd, p.leaf.c_str());
    } else {
      rc = ::linkat(p.dir_fd, p.temp_leaf.c_str(), p.dir_fd, p.leaf.c_str(), 0);
      if (rc == 0) ::unlinkat(p.dir_fd, p.temp_leaf.c_str(), 0);
    }
    if (rc != 0) {
      const int err = errno;
      undo();
      if (err == EEXIST)
        return make_error(ErrorCode::output_refused, Error::no_offset,
                          path_ + "/" + p.relative + " appeared while it was being written (another writer?); left as it is",
                          Remedy::allow_overwrite);
      errno = err;
      return os_error("cannot move " + path_ + "/" + p.relative + " into place");
    }
    if (!p.temp_leaf.empty()) {
      p.temp_leaf.clear();
      unregister_partial(p.slot);
      p.slot = -1;
    }
    placed.push_back(&p);
  }
  for (auto& p : pending_) {
    if (::close(p.fd) != 0) {
      const int err = errno;
      p.fd = -1;
      undo();
      errno = err;
      return os_error("cannot write " + path_ + "/" + p.relative);
    }
    p.fd = -1;
  }
  for (auto& p : pending_) ::close(p.dir_fd);
  pending_.clear();
  committed_ = true;
  return {};
}

void OutputDir::remove_temporaries() {
  for (auto& p : pending_) {
    if (p.fd >= 0) ::close(p.fd);
    if (!p.temp_leaf.empty()) ::unlinkat(p.dir_fd, p.temp_leaf.c_str(), 0);
    unregister_partial(p.slot);
    if (p.dir_fd >= 0) ::close(p.dir_fd);
  }
  pending_.clear();
}

bool pwrite_all(int fd, const void* data, std::size_t n, std::uint64_t offset) {
  const auto* p = static_cast<const unsigned char*>(data);
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return false;
    if (w == 0) {
      errno = EIO;
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
    offset += static_cast<std::uint64_t>(w);
  }
  return true;
}

Result<OutputFile> open_output_file(const std::string& path, bool force) {
  std::string dir = ".", leaf = path;
  if (const auto slash = path.rfind('/'); slash != std::string::npos) {
    dir = slash == 0 ? "/" : path.substr(0, slash);
    leaf = path.substr(slash + 1);
  }
  if (leaf.empty() || leaf == "." || leaf == "..")
    return make_error(ErrorCode::usage, Error::no_offset, "'" + path + "' names a directory, not a file");
  MIGSCOPE_ASSIGN(OutputDir target, OutputDir::open(dir, force));
  MIGSCOPE_TRY(target.reserve(leaf));
  MIGSCOPE_ASSIGN(int fd, target.create(leaf, 0));
  return OutputFile{std::move(target), fd};
}

}  // namespace migscope
