// A zero-initialised array of 64-bit values in an anonymous MAP_NORESERVE
// mapping: pages of it that are never written cost no memory, so one entry
// per guest page stays cheap for sparse or huge blocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <sys/mman.h>
#include <utility>

namespace migscope {

class LazyArray {
 public:
  LazyArray() = default;
  ~LazyArray() { reset(); }
  LazyArray(LazyArray&& o) noexcept : data_(std::exchange(o.data_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  LazyArray& operator=(LazyArray&& o) noexcept {
    if (this != &o) {
      reset();
      data_ = std::exchange(o.data_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  LazyArray(const LazyArray&) = delete;
  LazyArray& operator=(const LazyArray&) = delete;

  /// Reserve `n` entries; false if the address space refused.
  bool allocate(std::uint64_t n) {
    reset();
    if (n == 0) return true;
    bytes_ = static_cast<std::size_t>(n * sizeof(std::uint64_t));
    void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      bytes_ = 0;
      return false;
    }
    data_ = static_cast<std::uint64_t*>(p);
    return true;
  }
  std::uint64_t& operator[](std::uint64_t i) noexcept { return data_[i]; }
  std::uint64_t operator[](std::uint64_t i) const noexcept { return data_[i]; }

 private:
  void reset() noexcept {
    if (data_) ::munmap(data_, bytes_);
    data_ = nullptr;
    bytes_ = 0;
  }
  std::uint64_t* data_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace migscope
