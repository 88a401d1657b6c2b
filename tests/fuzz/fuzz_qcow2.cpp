// libFuzzer target: the qcow2 reader of core/input/qcow2.* on its own (no
// locate_stream in front, as `migscope snapshots` and Dump::open of an image
// run it), deeper than fuzz_wrappers:
//  1. read_qcow2: the header (v2, v3, feature bits, compression type), the
//     snapshot table (entries, extra data, ids, names) and the cut-short check
//     over the refcount table and blocks, every L1 table, its L2 tables and
//     their clusters. An image must read the same twice; its snapshots must
//     lie inside the input; choose_snapshot must find each by id and name.
//  2. For the first snapshots with a VM state no larger than open.cpp accepts:
//     vmstate_extents (the in-place mapping Dump::open uses) and open_vmstate
//     (the reader it falls back to). The extents must cover the VM state
//     exactly, in order; where they map bytes of the input, the reader must
//     give those bytes (and zeros for zero extents), and with every extent
//     inside the input the reader must not fail. The reader is drained twice
//     in different chunk sizes: the same bytes, the same end or error, an
//     error that stays.
// (regressions/qcow2-vmstate-past-2-64.bin: a VM state across guest address
// 2^64 gave no extent and its reader wrapped to address 0.)
// Errors must be clean values (fuzz_common.h).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "input/qcow2.h"
#include "migscope/input.h"

namespace {

using namespace migscope;

constexpr std::uint64_t kMaxVmstate = 2u << 20;  // bytes read per reader
constexpr std::size_t kSnapshotsRead = 4;
constexpr std::size_t kMaxExtents = 4096;        // as core/stream/open.cpp
// open.cpp refuses a VM state larger than max(1 GiB, 64 x the image); the
// extents of one that large take 2^21 cluster steps (512-byte clusters):
// fuzzed up to 256 MiB, which keeps a run fast and covers every path.
constexpr std::uint64_t kMaxExtentsState = 256u << 20;

constexpr std::initializer_list<ErrorCode> kOpenErrors = {ErrorCode::not_a_stream, ErrorCode::truncated,
                                                          ErrorCode::unsupported, ErrorCode::corrupt};
constexpr std::initializer_list<ErrorCode> kReadErrors = {ErrorCode::corrupt, ErrorCode::truncated};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

using fuzz::Drained;

bool same_snapshot(const Qcow2Snapshot& a, const Qcow2Snapshot& b) {
  return a.id == b.id && a.name == b.name && a.vm_state_size == b.vm_state_size && a.disk_size == b.disk_size &&
         a.vm_clock_nsec == b.vm_clock_nsec && a.date_sec == b.date_sec && a.date_nsec == b.date_nsec &&
         a.l1_table_offset == b.l1_table_offset && a.l1_size == b.l1_size && a.entry_offset == b.entry_offset;
}

// The extents against the bytes a reader gave (its first `d.bytes.size()`).
void check_extents(Bytes file, const Qcow2Snapshot& sn, const std::vector<VmstateExtent>& extents, const Drained& d) {
  std::uint64_t at = 0;
  bool inside = true;
  for (const VmstateExtent& e : extents) {
    if (e.offset != at) die("vmstate_extents: the extents are not contiguous from 0");
    if (e.length == 0) die("vmstate_extents: an empty extent");
    if (e.length > sn.vm_state_size - at) die("vmstate_extents: an extent past the VM state");
    at += e.length;
    if (!e.zero && (e.host > file.size() || e.length > file.size() - e.host)) inside = false;
  }
  if (at != sn.vm_state_size) die("vmstate_extents: the extents do not cover the VM state");
  if (inside && d.failed) fuzz::fail("the VM state reader failed where every extent is inside the input", d.error);
  // Every byte the reader gave, where an extent says where it is.
  for (const VmstateExtent& e : extents) {
    if (e.offset >= d.bytes.size()) break;
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(e.length, d.bytes.size() - e.offset));
    const std::byte* got = d.bytes.data() + e.offset;
    if (e.zero) {
      for (std::size_t i = 0; i < n; ++i)
        if (got[i] != std::byte{0}) die("a zero extent reads as non-zero bytes");
    } else if (e.host <= file.size() && n <= file.size() - e.host) {
      if (std::memcmp(got, file.data() + e.host, n) != 0) die("an extent maps other bytes than the reader gives");
    }
  }
}

void read_snapshot(Bytes file, const Qcow2Image& image, const Qcow2Snapshot& sn, std::uint8_t pick) {
  const std::uint64_t size = file.size();
  auto a = open_vmstate(file, image, sn, "a", /*release_behind=*/false);
  auto b = open_vmstate(file, image, sn, "b", /*release_behind=*/false);
  const auto [da, db] = fuzz::drain_twice(*a, *b, kMaxVmstate, pick, size, kReadErrors, sn.vm_state_size);

  if (sn.vm_state_size == 0 || sn.vm_state_size > kMaxExtentsState) return;
  const auto extents = vmstate_extents(file, image, sn, kMaxExtents);
  const auto again = vmstate_extents(file, image, sn, kMaxExtents);
  if (extents.has_value() != again.has_value() || (extents && extents->size() != again->size()))
    die("vmstate_extents gives another answer the second time");
  if (!extents) return;
  if (extents->size() > kMaxExtents) die("vmstate_extents: more extents than allowed");
  check_extents(file, sn, *extents, da.bytes.size() >= db.bytes.size() ? da : db);
  // With fewer extents allowed: the same answer or none.
  if (extents->size() > 1) {
    const auto fewer = vmstate_extents(file, image, sn, extents->size() - 1);
    if (fewer) die("vmstate_extents fits in fewer extents than it gave");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes file{reinterpret_cast<const std::byte*>(data), size};
  const std::uint8_t pick = size ? data[size - 1] : 0;
  auto image = read_qcow2(file);
  if (!image.ok()) {
    fuzz::check_error(image.error(), size, kOpenErrors);
    if (image.error().code == ErrorCode::not_a_stream && starts_like_qcow2(file)) die("a qcow2 magic read as no qcow2 image");
    return 0;
  }
  if (!starts_like_qcow2(file)) die("an image without the qcow2 magic");
  const Qcow2Image& img = *image;
  if (img.version != 2 && img.version != 3) die("a qcow2 version other than 2 or 3");
  if (img.cluster_bits < 9 || img.cluster_bits > 21) die("cluster_bits outside 9..21");
  if (img.compression_type > 1) die("an unknown compression type accepted");
  if (img.snapshots.size() > 65536) die("more than 65536 snapshots");
  for (const Qcow2Snapshot& sn : img.snapshots) {
    if (sn.entry_offset > size || size - sn.entry_offset < 40) die("a snapshot entry beyond the input");
    if (sn.id.size() > size || sn.name.size() > size) die("a snapshot id or name longer than the input");
  }
  // Deterministic.
  auto twice = read_qcow2(file);
  if (!twice.ok() || twice->snapshots.size() != img.snapshots.size() || twice->size != img.size ||
      twice->extended_l2 != img.extended_l2)
    die("read_qcow2 gives another answer the second time");
  for (std::size_t i = 0; i < img.snapshots.size(); ++i)
    if (!same_snapshot(img.snapshots[i], twice->snapshots[i])) die("a snapshot reads differently the second time");

  auto check_choice = [&](std::string_view which) {
    auto c = choose_snapshot(img, which);
    if (!c.ok()) fuzz::check_error(c.error(), size, {ErrorCode::usage});
    else if (*c < img.snapshots.data() || *c >= img.snapshots.data() + img.snapshots.size())
      die("choose_snapshot gave a snapshot not in the table");
    return c;
  };
  if (auto only = check_choice(""); only.ok() && (*only)->vm_state_size == 0) die("the only snapshot chosen has no VM state");
  if (check_choice(std::string_view("\x01no such snapshot", 17)).ok()) die("a missing snapshot was found");

  std::size_t read = 0;
  for (std::size_t i = 0; i < img.snapshots.size() && read < kSnapshotsRead; ++i) {
    const Qcow2Snapshot& sn = img.snapshots[i];
    if (i < kSnapshotsRead) {
      if (!sn.id.empty()) {
        auto by_id = check_choice(sn.id);
        if (!by_id.ok() || (*by_id)->id != sn.id) die("a snapshot is not found by its id");
      }
      if (!sn.name.empty()) {
        auto by_name = check_choice(sn.name);
        if (!by_name.ok() || ((*by_name)->name != sn.name && (*by_name)->id != sn.name))
          die("a snapshot is not found by its name");
      }
    }
    // What open.cpp would read (it refuses larger VM states before reading).
    const std::uint64_t limit = std::max<std::uint64_t>(std::uint64_t{1} << 30, std::uint64_t{size} * 64);
    if (sn.vm_state_size == 0 || sn.vm_state_size > limit) continue;
    ++read;
    read_snapshot(file, img, sn, pick);
  }
  return 0;
}
