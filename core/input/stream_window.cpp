#include "input/stream_window.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

namespace migscope {

namespace {

// Address space is cheap but not endless: 2^46 bytes (64 TiB) of it at most.
constexpr std::uint64_t kMaxReserve = std::uint64_t{1} << 46;

std::string temp_dir() {
  const char* dir = std::getenv("TMPDIR");
  return dir && *dir ? dir : "/tmp";
}

}  // namespace

Result<std::unique_ptr<StreamWindow>> StreamWindow::start(std::unique_ptr<SequentialReader> reader, std::uint64_t limit,
                                                          std::string name, Kind kind, std::size_t chunk) {
  std::unique_ptr<StreamWindow> w(new StreamWindow());
  w->chunk_ = chunk == 0 ? 1 : chunk;
  w->kind_ = kind;
  w->reader_ = std::move(reader);
  w->name_ = std::move(name);
  const long page = ::sysconf(_SC_PAGESIZE);
  const std::uint64_t page_size = page > 0 ? static_cast<std::uint64_t>(page) : 4096;
  w->limit_ = std::min(limit, kMaxReserve - page_size);
  w->reserved_ = (w->limit_ + page_size) / page_size * page_size;  // one page more: a span may end at the limit
  if (kind == Kind::once) {
    // Anonymous memory in huge pages (a fault and a zeroing per 2 MiB, not per
    // 4 KiB, and only until free_behind recycles units), 2 MiB aligned, written by the producer in place: the walk reads
    // what the decompressor wrote, with no copy and no fault of its own.
    w->map_size_ = w->reserved_ + kFreeUnit;
    void* p = ::mmap(nullptr, w->map_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
      return make_error(ErrorCode::io, Error::no_offset, "cannot reserve memory for " + w->name_ + ": " + std::strerror(errno));
    w->map_ = p;
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    w->base_ = reinterpret_cast<std::byte*>((at + kFreeUnit - 1) / kFreeUnit * kFreeUnit);
    ::madvise(const_cast<std::byte*>(w->base_), w->reserved_, MADV_HUGEPAGE);
  } else {
    std::string path = temp_dir() + "/migscope-stream-XXXXXX";
    w->fd_ = ::mkstemp(path.data());
    if (w->fd_ < 0)
      return make_error(ErrorCode::io, Error::no_offset,
                        "cannot create a temporary file for " + w->name_ + " in " + temp_dir() + ": " + std::strerror(errno));
    // Unlinked at once: the descriptor and the mapping keep it, nothing is left behind.
    ::unlink(path.c_str());
  }
  if (kind == Kind::spool) {
    void* p = ::mmap(nullptr, w->reserved_, PROT_READ, MAP_SHARED, w->fd_, 0);
    if (p == MAP_FAILED)
      return make_error(ErrorCode::io, Error::no_offset,
                        "cannot map a temporary file for " + w->name_ + ": " + std::strerror(errno));
    w->map_ = p;
    w->map_size_ = w->reserved_;
    w->base_ = static_cast<const std::byte*>(p);
    // Read front to back, once: read ahead, and no need to keep what is behind.
    ::madvise(p, w->reserved_, MADV_SEQUENTIAL);
  }
  try {
    w->thread_ = std::thread([raw = w.get()] { raw->produce(); });
  } catch (const std::exception& e) {
    return make_error(ErrorCode::io, Error::no_offset, std::string("cannot start a thread: ") + e.what());
  }
  return w;
}

StreamWindow::~StreamWindow() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  wanted_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (map_) ::munmap(map_, map_size_);
  if (fd_ >= 0) ::close(fd_);
}

void StreamWindow::produce() {
  std::vector<std::byte> buf(kind_ == Kind::spool ? chunk_ : 0);
  std::uint64_t filled = 0;
  std::optional<Error> failure;
  for (;;) {
    {
      std::unique_lock lk(mu_);
      wanted_.wait(lk, [&] { return stopping_ || filled < kAhead || filled - kAhead < wanted_size_; });
      if (stopping_) break;
    }
    std::size_t n = 0;
    bool at_end = false;
    // A read-once window is written in place; a spool through a buffer.
    std::span<std::byte> into = kind_ == Kind::once
                                    ? std::span<std::byte>(const_cast<std::byte*>(base_) + filled,
                                                           static_cast<std::size_t>(std::min<std::uint64_t>(chunk_, limit_ + 1 - filled)))
                                    : std::span<std::byte>(buf);
    while (n < into.size()) {
      auto got = reader_->read(into.subspan(n));
      if (!got.ok()) {
        failure = std::move(got).error();
        break;
      }
      if (*got == 0) {
        at_end = true;
        break;
      }
      n += *got;
    }
    if (filled + n > limit_) {
      failure = make_error(ErrorCode::unsupported, limit_,
                           name_ + " holds more than " + std::to_string(limit_) +
                               " bytes of stream, more than its size allows (a decompression bomb?)");
      n = static_cast<std::size_t>(limit_ - filled);
    }
    for (std::size_t off = 0; kind_ == Kind::spool && off < n;) {
      const ssize_t w = ::pwrite(fd_, buf.data() + off, n - off, static_cast<off_t>(filled + off));
      if (w < 0) {
        if (errno == EINTR) continue;
        failure = make_error(ErrorCode::io, Error::no_offset,
                             "cannot write the temporary file for " + name_ + " in " + temp_dir() + ": " + std::strerror(errno));
        n = off;
        break;
      }
      off += static_cast<std::size_t>(w);
    }
    filled += n;
    std::uint64_t reader_at;
    {
      std::lock_guard lk(mu_);
      filled_.store(filled, std::memory_order_release);
      // A reader that asks for far more than its position (to skip a large
      // body, or for all that remains) is taken to be where it asks, less
      // kAhead: memory stays bounded whatever a length field claims.
      const std::uint64_t asked = std::min(wanted_size_, filled);
      reader_at = std::max(reader_at_, asked > kAhead ? asked - kAhead : 0);
    }
    grown_.notify_all();
    if (failure || at_end) break;
    if (kind_ == Kind::once) free_behind(reader_at, filled);
  }
  {
    std::lock_guard lk(mu_);
    failure_ = std::move(failure);
    ended_.store(true, std::memory_order_release);
  }
  grown_.notify_all();
}

// Give back the memory of what lies far enough behind the reader: each unit is
// moved (its huge page with it) to a unit ahead that the producer has not
// written yet, so the producer writes into memory already faulted in, not into
// fresh huge pages the kernel must zero (clear_page was 16% of `info` on a zstd
// dump). MREMAP_DONTUNMAP leaves the freed range mapped and empty, as
// MADV_DONTNEED does: a stale read finds zeros, never a fault.
void StreamWindow::free_behind(std::uint64_t reader_at, std::uint64_t filled) {
#ifndef MREMAP_DONTUNMAP
  constexpr int MREMAP_DONTUNMAP = 4;  // Linux 5.7; for any private anonymous mapping since 5.13
#endif
  if (reader_at < kKeepBehind) return;
  const std::uint64_t to = (reader_at - kKeepBehind) / kFreeUnit * kFreeUnit;
  if (to <= freed_to_ + kFreeUnit) return;
  auto* base = const_cast<std::byte*>(base_);
  while (recycle_ && freed_to_ < to) {
    // Not the unit being written: the first one past what is filled.
    recycled_to_ = std::max(recycled_to_, (filled + kFreeUnit - 1) / kFreeUnit * kFreeUnit);
    if (recycled_to_ + kFreeUnit > reserved_) break;  // the end is near: free the rest
    void* moved = ::mremap(base + freed_to_, kFreeUnit, kFreeUnit, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
                           base + recycled_to_);
    if (moved == MAP_FAILED) {
      recycle_ = false;
      break;
    }
    freed_to_ += kFreeUnit;
    recycled_to_ += kFreeUnit;
  }
  if (freed_to_ < to && ::madvise(base + freed_to_, to - freed_to_, MADV_DONTNEED) == 0) freed_to_ = to;
  freed_.store(freed_to_ - kKeepHead, std::memory_order_relaxed);
}

std::uint64_t StreamWindow::wait_for(std::uint64_t size, std::uint64_t position) {
  std::uint64_t now = filled_.load(std::memory_order_acquire);
  if (now >= size) return now;
  std::unique_lock lk(mu_);
  if (position > reader_at_) reader_at_ = position;
  if (size > wanted_size_) {
    wanted_size_ = size;
    wanted_.notify_all();
  }
  grown_.wait(lk, [&] { return filled_.load(std::memory_order_relaxed) >= size || ended_.load(std::memory_order_relaxed); });
  return filled_.load(std::memory_order_relaxed);
}

const Error* StreamWindow::failure() const noexcept {
  if (!ended_.load(std::memory_order_acquire)) return nullptr;
  return failure_ ? &*failure_ : nullptr;
}

Result<Bytes> StreamWindow::wait_all() {
  const std::uint64_t n = wait_for(UINT64_MAX, 0);
  if (const Error* e = failure()) return *e;
  return Bytes{base_, static_cast<std::size_t>(n)};
}

}  // namespace migscope
