// An LD_PRELOAD library that makes the file system under a directory misbehave
// for the fault tests (tests/fault_test.cpp), where mounting a small tmpfs is
// not possible. Only writes to regular files whose path starts with
// MIGSCOPE_FAULT_DIR are touched:
//   MIGSCOPE_FAULT_ENOSPC_AFTER=N   after N bytes, writes (and fallocate
//                                   allocations) fail with ENOSPC, as on a full disk
//   MIGSCOPE_FAULT_DELAY_US=U       each write sleeps U microseconds first
//   MIGSCOPE_FAULT_MARK=PATH        PATH is created at the first such write
//                                   (the test then knows writing has begun)
//   MIGSCOPE_FAULT_COUNT=PATH       at exit, the bytes written there go to PATH
//   MIGSCOPE_FAULT_NO_TMPFILE=1     open(O_TMPFILE) fails with EOPNOTSUPP, as on
//                                   a file system without unnamed files
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace {

std::atomic<long long> g_written{0};
std::atomic<bool> g_marked{false};

bool faulty(int fd) {
  const char* dir = std::getenv("MIGSCOPE_FAULT_DIR");
  if (dir == nullptr || *dir == '\0' || fd <= 2) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return false;
  char link[64], target[PATH_MAX];
  std::strcpy(link, "/proc/self/fd/");
  char digits[16];
  int n = 0;
  for (int v = fd; v > 0; v /= 10) digits[n++] = static_cast<char>('0' + v % 10);
  std::size_t at = std::strlen(link);
  while (n > 0) link[at++] = digits[--n];
  link[at] = '\0';
  const ssize_t len = ::readlink(link, target, sizeof target - 1);
  if (len <= 0) return false;
  target[len] = '\0';
  return std::strncmp(target, dir, std::strlen(dir)) == 0;
}

// How many of `want` bytes may go out; -1 with errno ENOSPC for none.
ssize_t allow(int fd, std::size_t want) {
  if (!faulty(fd)) return static_cast<ssize_t>(want);
  if (const char* mark = std::getenv("MIGSCOPE_FAULT_MARK"); mark && !g_marked.exchange(true)) {
    const int m = ::open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (m >= 0) ::close(m);
  }
  if (const char* delay = std::getenv("MIGSCOPE_FAULT_DELAY_US")) ::usleep(static_cast<useconds_t>(std::atoll(delay)));
  const char* limit = std::getenv("MIGSCOPE_FAULT_ENOSPC_AFTER");
  if (limit == nullptr) {
    g_written += static_cast<long long>(want);
    return static_cast<ssize_t>(want);
  }
  const long long left = std::atoll(limit) - g_written.load();
  if (left <= 0) {
    errno = ENOSPC;
    return -1;
  }
  const std::size_t n = static_cast<std::size_t>(left) < want ? static_cast<std::size_t>(left) : want;
  g_written += static_cast<long long>(n);
  return static_cast<ssize_t>(n);
}

__attribute__((destructor)) void report_count() {
  const char* path = std::getenv("MIGSCOPE_FAULT_COUNT");
  if (path == nullptr) return;
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  char text[32];
  int n = 0;
  long long v = g_written.load();
  char digits[24];
  do digits[n++] = static_cast<char>('0' + v % 10); while ((v /= 10) > 0);
  for (int i = 0; i < n; ++i) text[i] = digits[n - 1 - i];
  ssize_t ignored = ::write(fd, text, static_cast<std::size_t>(n));
  (void)ignored;
  ::close(fd);
}

template <typename F>
F next(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

std::size_t total(const struct iovec* iov, int count) {
  std::size_t sum = 0;
  for (int i = 0; i < count; ++i) sum += iov[i].iov_len;
  return sum;
}

// The first iovecs that hold `n` bytes (the last one shortened) in `out`.
int clip(const struct iovec* iov, int count, std::size_t n, struct iovec* out) {
  int used = 0;
  for (int i = 0; i < count && n > 0 && used < 1024; ++i) {
    out[used] = iov[i];
    if (out[used].iov_len > n) out[used].iov_len = n;
    n -= out[used].iov_len;
    ++used;
  }
  return used;
}

}  // namespace

extern "C" {

// openat() and openat64() alike: O_TMPFILE refused when asked, the rest passed on.
static int open_in(int dirfd, const char* path, int flags, mode_t mode) {
  static auto real = next<int (*)(int, const char*, int, ...)>("openat");
  if ((flags & O_TMPFILE) == O_TMPFILE && std::getenv("MIGSCOPE_FAULT_NO_TMPFILE") != nullptr) {
    errno = EOPNOTSUPP;
    return -1;
  }
  return real(dirfd, path, flags, mode);
}

#define MIGSCOPE_SHIM_MODE(flags, mode)                                   \
  mode_t mode = 0;                                                        \
  if (((flags) & O_CREAT) != 0 || ((flags) & O_TMPFILE) == O_TMPFILE) {   \
    va_list ap;                                                           \
    va_start(ap, flags);                                                  \
    mode = static_cast<mode_t>(va_arg(ap, int));                          \
    va_end(ap);                                                           \
  }

int openat(int dirfd, const char* path, int flags, ...) {
  MIGSCOPE_SHIM_MODE(flags, mode)
  return open_in(dirfd, path, flags, mode);
}
int openat64(int dirfd, const char* path, int flags, ...) {
  MIGSCOPE_SHIM_MODE(flags, mode)
  return open_in(dirfd, path, flags, mode);
}

ssize_t write(int fd, const void* buf, size_t count) {
  static auto real = next<ssize_t (*)(int, const void*, size_t)>("write");
  const ssize_t n = allow(fd, count);
  return n < 0 ? -1 : real(fd, buf, static_cast<size_t>(n));
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  static auto real = next<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite");
  const ssize_t n = allow(fd, count);
  return n < 0 ? -1 : real(fd, buf, static_cast<size_t>(n), offset);
}
ssize_t pwrite64(int fd, const void* buf, size_t count, off_t offset) { return pwrite(fd, buf, count, offset); }

ssize_t writev(int fd, const struct iovec* iov, int count) {
  static auto real = next<ssize_t (*)(int, const struct iovec*, int)>("writev");
  const ssize_t n = allow(fd, total(iov, count));
  if (n < 0) return -1;
  struct iovec part[1024];
  return real(fd, part, clip(iov, count, static_cast<std::size_t>(n), part));
}

ssize_t pwritev(int fd, const struct iovec* iov, int count, off_t offset) {
  static auto real = next<ssize_t (*)(int, const struct iovec*, int, off_t)>("pwritev");
  const ssize_t n = allow(fd, total(iov, count));
  if (n < 0) return -1;
  struct iovec part[1024];
  return real(fd, part, clip(iov, count, static_cast<std::size_t>(n), part), offset);
}
ssize_t pwritev64(int fd, const struct iovec* iov, int count, off_t offset) { return pwritev(fd, iov, count, offset); }

}  // extern "C"
