#include "input/stitched_map.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace migscope {

std::unique_ptr<StitchedMapping> StitchedMapping::map(const std::string& path, std::span<const VmstateExtent> extents,
                                                      std::uint64_t size) {
  const long ps = ::sysconf(_SC_PAGESIZE);
  const std::uint64_t page = ps > 0 ? static_cast<std::uint64_t>(ps) : 4096;
  if (size == 0 || extents.empty()) return nullptr;
  for (const VmstateExtent& e : extents)
    if (e.offset % page != 0 || (!e.zero && e.host % page != 0) ||
        (e.length % page != 0 && e.offset + e.length != size))
      return nullptr;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  std::unique_ptr<StitchedMapping> m(new StitchedMapping());
  m->size_ = size;
  m->mapped_ = (size + page - 1) / page * page;
  void* r = ::mmap(nullptr, m->mapped_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (r == MAP_FAILED) {
    ::close(fd);
    return nullptr;
  }
  m->base_ = static_cast<std::byte*>(r);
  bool ok = true;
  for (const VmstateExtent& e : extents) {
    const std::uint64_t len = (e.length + page - 1) / page * page;
    void* want = m->base_ + e.offset;
    void* got = e.zero ? ::mmap(want, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
                       : ::mmap(want, len, PROT_READ, MAP_SHARED | MAP_FIXED, fd, static_cast<off_t>(e.host));
    if (got != want) {
      ok = false;
      break;
    }
  }
  ::close(fd);  // the mappings keep the file
  if (!ok) return nullptr;  // the destructor unmaps what was mapped
  ::madvise(m->base_, m->mapped_, MADV_SEQUENTIAL);
  return m;
}

StitchedMapping::~StitchedMapping() {
  if (base_) ::munmap(base_, mapped_);
}

}  // namespace migscope
