#include "ram/chunk_arena.h"

#include <cstdlib>
#include <string>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace migscope {

std::unique_ptr<ChunkArena> ChunkArena::create(std::uint64_t trim_every) {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir && *dir ? dir : "/tmp") + "/migscope-index-XXXXXX";
  const int fd = ::mkstemp(path.data());
  if (fd < 0) return nullptr;
  ::unlink(path.c_str());  // the descriptor and the mappings keep it; nothing is left behind
  return std::unique_ptr<ChunkArena>(new ChunkArena(fd, trim_every == 0 ? 1 : trim_every));
}

ChunkArena::~ChunkArena() {
  for (std::byte* s : segments_) ::munmap(s, kSegmentBytes);
  ::close(fd_);
}

std::uint64_t* ChunkArena::allocate() noexcept {
  if (used_in_last_ == kSegmentBytes) {
    const auto offset = static_cast<off_t>(segments_.size() * kSegmentBytes);
    // Reserve the segment's blocks now: a store into a mapped hole of a full
    // file system would otherwise be a SIGBUS, not an error.
    if (::posix_fallocate(fd_, offset, static_cast<off_t>(kSegmentBytes)) != 0) return nullptr;
    void* m = ::mmap(nullptr, kSegmentBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, offset);
    if (m == MAP_FAILED) return nullptr;
    try {
      segments_.push_back(static_cast<std::byte*>(m));
    } catch (...) {
      ::munmap(m, kSegmentBytes);
      return nullptr;
    }
    used_in_last_ = 0;
  }
  std::byte* chunk = segments_.back() + used_in_last_;
  used_in_last_ += kChunkBytes;
  return reinterpret_cast<std::uint64_t*>(chunk);
}

void ChunkArena::trim() noexcept {
  switches_.store(0, std::memory_order_relaxed);
  // On a shared file mapping this unmaps the pages; written ones stay (dirty)
  // in the file's page cache and read back unchanged on the next access.
  for (std::byte* s : segments_) ::madvise(s, kSegmentBytes, MADV_DONTNEED);
}

}  // namespace migscope
