// qcow2 internal snapshots: the header, the snapshot table, and a reader of
// a snapshot's VM state through the snapshot's own L1 and L2 tables (QEMU
// docs/interop/qcow2.txt; block/qcow2.c qcow2_vm_state_offset). The VM state
// lives past the end of the virtual disk, at the first L1 entry beyond it.
// Compressed clusters are deflate or zstd (the header's compression type),
// decompressed as QEMU does (block/qcow2-threads.c).
#include "input/qcow2.h"

#include "input/input.h"

#include <algorithm>
#include <optional>
#include <cstring>
#include <vector>

#include <zlib.h>
#include <zstd.h>

#include "wire/endian.h"
#include "wire/hex.h"

namespace migscope {

namespace {

constexpr std::uint64_t kOffsetMask = 0x00fffffffffffe00ull;  // L1 and standard L2 entries
constexpr std::uint64_t kCompressed = 1ull << 62;
constexpr std::uint64_t kZeroFlag = 1ull;
constexpr std::uint64_t kIncompatExternalData = 1ull << 2;
constexpr std::uint64_t kIncompatCompressionType = 1ull << 3;
constexpr std::uint64_t kIncompatExtendedL2 = 1ull << 4;
constexpr std::uint64_t kKnownIncompat = 0x1f;  // dirty, corrupt, data file, compression type, extended L2
constexpr std::uint32_t kMaxSnapshots = 65536;  // QCOW_MAX_SNAPSHOTS


Error corrupt(std::uint64_t at, std::string what) { return make_error(ErrorCode::corrupt, at, "qcow2: " + std::move(what)); }

// A qcow2 image cut short can still hold a whole VM state (the tables and
// clusters past the cut being someone else's), so reading it is no test. As
// `qemu-img check` does (block/qcow2-refcount.c inc_refcounts), every region
// the image refers to - refcount table and blocks, L1 tables (active and each
// snapshot's), their L2 tables and the data clusters these map - must not
// end a cluster or more past the end of the file; refcount blocks and L2
// tables, which QEMU always writes whole, must be whole. Only cluster-aligned
// tables are followed (QEMU refuses the others when it uses them), each once,
// so the work stays bounded by the size of the file.
Status check_not_cut_short(Bytes file, const Qcow2Image& img) {
  const std::uint64_t size = file.size(), cluster = std::uint64_t{1} << img.cluster_bits;
  const std::byte* h = file.data();
  auto past_end = [&](std::uint64_t at, std::uint64_t len) {
    if (at > UINT64_MAX - len) return true;
    return at + len > size && at + len - size >= cluster;
  };
  auto not_whole = [&](std::uint64_t at) { return at > size || size - at < cluster; };
  auto cut = [&](std::uint64_t pointed_from, const char* what, std::uint64_t at) {
    return make_error(ErrorCode::truncated, pointed_from,
                      std::string("qcow2: ") + what + " at " + hex(at) + " runs past the end of the input (" +
                          std::to_string(size) + " bytes): the image was cut short");
  };
  // Refcount table and blocks.
  const std::uint64_t reftable = load_be64(h + 48);
  const std::uint64_t reftable_len = std::uint64_t{load_be32(h + 56)} << img.cluster_bits;
  if (reftable != 0 && past_end(reftable, reftable_len)) return cut(48, "the refcount table", reftable);
  if (reftable != 0)
    for (std::uint64_t e = reftable; e < size && size - e >= 8 && e - reftable < reftable_len; e += 8) {
      const std::uint64_t block = load_be64(h + e) & kOffsetMask;
      if (block != 0 && not_whole(block)) return cut(e, "a refcount block", block);
    }
  // L1 tables, then each distinct L2 table they name, then its clusters.
  struct L1 {
    std::uint64_t offset, entries, pointed_from;
  };
  std::vector<L1> l1s{{load_be64(h + 40), load_be32(h + 36), 36}};
  for (const Qcow2Snapshot& sn : img.snapshots) l1s.push_back({sn.l1_table_offset, sn.l1_size, sn.entry_offset});
  std::vector<std::uint64_t> l2_tables;
  for (const L1& l1 : l1s) {
    if (l1.entries == 0) continue;
    if (past_end(l1.offset, 8 * l1.entries)) return cut(l1.pointed_from, "an L1 table", l1.offset);
    for (std::uint64_t at = l1.offset; at < size && size - at >= 8 && at - l1.offset < 8 * l1.entries; at += 8) {
      const std::uint64_t l2 = load_be64(h + at) & kOffsetMask;
      if (l2 == 0) continue;
      if (not_whole(l2)) return cut(at, "an L2 table", l2);
      if ((l2 & (cluster - 1)) == 0) l2_tables.push_back(l2);
    }
  }
  std::sort(l2_tables.begin(), l2_tables.end());
  l2_tables.erase(std::unique(l2_tables.begin(), l2_tables.end()), l2_tables.end());
  const std::uint64_t entry_size = img.extended_l2 ? 16 : 8;
  const unsigned csize_shift = 62 - (img.cluster_bits - 8);
  for (std::uint64_t l2 : l2_tables)
    for (std::uint64_t at = l2; at < size && size - at >= 8 && at - l2 < cluster; at += entry_size) {
      const std::uint64_t entry = load_be64(h + at);
      if (entry & kCompressed) {
        const std::uint64_t host = entry & ((std::uint64_t{1} << csize_shift) - 1);
        const std::uint64_t sectors = ((entry >> csize_shift) & ((std::uint64_t{1} << (img.cluster_bits - 8)) - 1)) + 1;
        if (past_end(host & ~std::uint64_t{511}, sectors * 512)) return cut(at, "a compressed cluster", host);
      } else if (const std::uint64_t host = entry & kOffsetMask; host != 0 && past_end(host, cluster)) {
        return cut(at, "a data cluster", host);
      }
    }
  return {};
}

}  // namespace

bool starts_like_qcow2(Bytes head) noexcept { return head.size() >= 4 && std::memcmp(head.data(), "QFI\xfb", 4) == 0; }

Result<Qcow2Image> read_qcow2(Bytes file) {
  if (!starts_like_qcow2(file)) return make_error(ErrorCode::not_a_stream, 0, "qcow2: no 'QFI\\xfb' magic");
  if (file.size() < 72) return make_error(ErrorCode::truncated, 0, "qcow2: input ends inside the header (72 bytes)");
  const std::byte* h = file.data();
  Qcow2Image img;
  img.version = load_be32(h + 4);
  if (img.version != 2 && img.version != 3)
    return make_error(ErrorCode::unsupported, 4, "qcow2 version " + std::to_string(img.version) + " (expected 2 or 3)");
  img.cluster_bits = load_be32(h + 20);
  if (img.cluster_bits < 9 || img.cluster_bits > 21)
    return corrupt(20, "cluster_bits " + std::to_string(img.cluster_bits) + " (expected 9..21)");
  img.size = load_be64(h + 24);
  if (load_be32(h + 32) != 0)
    return make_error(ErrorCode::unsupported, 32, "qcow2: an encrypted image (crypt_method " + std::to_string(load_be32(h + 32)) + ")");
  const std::uint32_t nb_snapshots = load_be32(h + 60);
  const std::uint64_t snapshots_offset = load_be64(h + 64);
  if (img.version == 3) {
    if (file.size() < 104) return make_error(ErrorCode::truncated, 72, "qcow2: input ends inside the version 3 header (104 bytes)");
    const std::uint64_t incompat = load_be64(h + 72);
    if (incompat & kIncompatExternalData)
      return make_error(ErrorCode::unsupported, 72, "qcow2: the data is in an external data file");
    if (incompat & ~kKnownIncompat) return make_error(ErrorCode::unsupported, 72, "qcow2: unknown incompatible features " + hex(incompat));
    img.extended_l2 = (incompat & kIncompatExtendedL2) != 0;
    // compression_type (byte 104) is there when the header is longer than
    // 104 bytes; it must be non-zero exactly when incompatible bit 3 is set
    // (QEMU block/qcow2.c validate_compression_type).
    const std::uint32_t header_length = load_be32(h + 100);
    if (header_length > 104) {
      if (file.size() <= 104) return make_error(ErrorCode::truncated, 100, "qcow2: input ends inside the header (header_length " + std::to_string(header_length) + ")");
      img.compression_type = static_cast<std::uint8_t>(h[104]);
    }
    if (img.compression_type > 1)
      return make_error(ErrorCode::unsupported, 104, "qcow2: unknown compression type " + std::to_string(img.compression_type) + " (known: 0 deflate, 1 zstd)");
    if (img.compression_type == 1 && !(incompat & kIncompatCompressionType))
      return corrupt(72, "compression type zstd without incompatible feature bit 3 (compression type)");
    if (img.compression_type == 0 && (incompat & kIncompatCompressionType))
      return corrupt(72, "incompatible feature bit 3 (compression type) set, but the compression type is deflate");
  }
  if (nb_snapshots > kMaxSnapshots) return corrupt(60, std::to_string(nb_snapshots) + " snapshots (at most 65536)");
  std::uint64_t at = snapshots_offset;
  std::uint64_t pointed_from = 64;  // what puts the next entry at `at`: the header field, then the entry before
  for (std::uint32_t i = 0; i < nb_snapshots; ++i) {
    if (at > file.size() || file.size() - at < 40)
      return make_error(ErrorCode::truncated, pointed_from,
                        "qcow2: snapshot table entry " + std::to_string(i) + " at " + hex(at) + " lies beyond the end of the input");
    const std::byte* e = file.data() + at;
    Qcow2Snapshot sn;
    sn.entry_offset = at;
    sn.l1_table_offset = load_be64(e);
    sn.l1_size = load_be32(e + 8);
    const std::uint16_t id_size = load_be16(e + 12), name_size = load_be16(e + 14);
    sn.date_sec = load_be32(e + 16);
    sn.date_nsec = load_be32(e + 20);
    sn.vm_clock_nsec = load_be64(e + 24);
    sn.vm_state_size = load_be32(e + 32);
    const std::uint32_t extra = load_be32(e + 36);
    const std::uint64_t need = 40 + std::uint64_t{extra} + id_size + name_size;
    if (file.size() - at < need)
      return make_error(ErrorCode::truncated, at, "qcow2: snapshot table entry " + std::to_string(i) + " runs past the end of the input");
    sn.disk_size = img.size;
    if (extra >= 8) sn.vm_state_size = load_be64(e + 40);  // vm_state_size_large
    if (extra >= 16) sn.disk_size = load_be64(e + 48);
    sn.id = std::string(as_chars(file.subspan(at + 40 + extra, id_size)));
    sn.name = std::string(as_chars(file.subspan(at + 40 + extra + id_size, name_size)));
    img.snapshots.push_back(std::move(sn));
    pointed_from = at;
    at += (need + 7) / 8 * 8;  // entries are 8-byte aligned
  }
  MIGSCOPE_TRY(check_not_cut_short(file, img));
  return img;
}

Result<const Qcow2Snapshot*> choose_snapshot(const Qcow2Image& image, std::string_view which) {
  // The first few only: a table may hold 65536 entries with 64 KiB names each.
  constexpr std::size_t kListed = 16;
  auto shown = [](const std::string& text) { return text.size() <= 64 ? text : text.substr(0, 64) + "..."; };
  auto list = [&] {
    std::string s;
    for (std::size_t i = 0; i < image.snapshots.size() && i < kListed; ++i) {
      const Qcow2Snapshot& sn = image.snapshots[i];
      s += (s.empty() ? "" : ", ") + shown(sn.id) + " '" + shown(sn.name) + "'" +
           (sn.vm_state_size ? "" : " (disk only)");
    }
    if (image.snapshots.size() > kListed) s += " and " + std::to_string(image.snapshots.size() - kListed) + " more";
    return s.empty() ? std::string("none") : s;
  };
  if (which.empty()) {
    const Qcow2Snapshot* found = nullptr;
    std::size_t with_state = 0;
    for (const Qcow2Snapshot& sn : image.snapshots)
      if (sn.vm_state_size) {
        found = &sn;
        ++with_state;
      }
    if (with_state == 1) return found;
    return make_error(ErrorCode::usage, Error::no_offset,
                      with_state == 0 ? "qcow2 image without a snapshot that has a VM state (snapshots: " + list() + ")"
                                      : "qcow2 image with " + std::to_string(with_state) +
                                            " snapshots that have a VM state: name one (snapshots: " + list() + ")");
  }
  for (const Qcow2Snapshot& sn : image.snapshots)
    if (sn.id == which) return &sn;
  for (const Qcow2Snapshot& sn : image.snapshots)
    if (sn.name == which) return &sn;
  return make_error(ErrorCode::usage, Error::no_offset,
                    "no snapshot '" + std::string(which) + "' in this qcow2 image (snapshots: " + list() + ")");
}

namespace {

class VmstateReader final : public SequentialReader {
 public:
  VmstateReader(Bytes file, const Qcow2Image& img, const Qcow2Snapshot& sn, std::string name, bool release_behind)
      : file_(file), name_(std::move(name)), cluster_bits_(img.cluster_bits), cluster_(std::uint64_t{1} << img.cluster_bits),
        extended_(img.extended_l2), compression_type_(img.compression_type), sn_(sn), release_(release_behind) {
    l2_bits_ = cluster_bits_ - (extended_ ? 4 : 3);
    const unsigned shift = cluster_bits_ + l2_bits_;
    // size_to_l1(): the first L1 entry past the disk holds the VM state.
    const std::uint64_t l1_index = (sn.disk_size >> shift) + ((sn.disk_size & ((std::uint64_t{1} << shift) - 1)) != 0);
    base_ = shift >= 64 || l1_index >= (std::uint64_t{1} << (64 - shift)) ? UINT64_MAX : l1_index << shift;
    // The whole VM state must lie below 2^64 too (fuzz_qcow2: a disk size
    // just below 2^64 would wrap its later clusters to guest address 0).
    if (base_ != UINT64_MAX && sn.vm_state_size > UINT64_MAX - base_) base_ = UINT64_MAX;
  }

  Result<std::size_t> read(std::span<std::byte> out) override {
    if (base_ == UINT64_MAX) return make_error(ErrorCode::corrupt, sn_.entry_offset, "qcow2: the snapshot's disk size puts its VM state beyond 2^64");
    std::size_t n = 0;
    while (n < out.size() && pos_ < sn_.vm_state_size) {
      const std::uint64_t guest = base_ + pos_;
      const std::uint64_t in_cluster = guest & (cluster_ - 1);
      const std::size_t take = static_cast<std::size_t>(
          std::min<std::uint64_t>({cluster_ - in_cluster, sn_.vm_state_size - pos_, out.size() - n}));
      MIGSCOPE_TRY(copy(guest, in_cluster, out.data() + n, take));
      n += take;
      pos_ += take;
    }
    release_touched();
    return n;
  }
  std::string name() const override { return name_; }

  /// The VM state as extents of the image (and runs of zeros), when every
  /// cluster is plain data, zero or unallocated (none compressed, no partial
  /// subclusters), in at most `max` extents: it can then be mapped in place.
  std::optional<std::vector<VmstateExtent>> extents(std::size_t max) const {
    if (base_ == UINT64_MAX || sn_.vm_state_size == 0 || (base_ & (cluster_ - 1)) != 0) return std::nullopt;
    std::vector<VmstateExtent> out;
    for (std::uint64_t g = base_; g < base_ + sn_.vm_state_size; g += cluster_) {
      bool zero = false;
      const std::optional<std::uint64_t> host = plain_cluster(g, &zero);
      if (!host && !zero) return std::nullopt;
      const std::uint64_t at = g - base_;
      const std::uint64_t len = std::min<std::uint64_t>(cluster_, sn_.vm_state_size - at);
      if (!out.empty()) {
        VmstateExtent& last = out.back();
        if (last.zero == zero && (zero || last.host + last.length == *host)) {
          last.length += len;
          continue;
        }
      }
      if (out.size() == max) return std::nullopt;
      out.push_back({at, len, host.value_or(0), zero});
    }
    return out;
  }

 private:
  // The host offset of a guest cluster that is plain data (allocated, not
  // compressed, every subcluster allocated); or *zero when it reads as zeros
  // (unallocated, zero flag, all subclusters zero); else neither (compressed,
  // mixed subclusters, tables out of the file: the reader handles those).
  std::optional<std::uint64_t> plain_cluster(std::uint64_t guest, bool* zero) const {
    *zero = false;
    const std::uint64_t l1_index = guest >> (cluster_bits_ + l2_bits_);
    if (l1_index >= sn_.l1_size) return *zero = true, std::nullopt;
    const std::uint64_t l1_at = sn_.l1_table_offset + 8 * l1_index;
    if (sn_.l1_table_offset > file_.size() || l1_at > file_.size() - 8) return std::nullopt;
    const std::uint64_t l2_table = load_be64(file_.data() + l1_at) & kOffsetMask;
    if (l2_table == 0) return *zero = true, std::nullopt;
    const std::uint64_t entry_size = extended_ ? 16 : 8;
    const std::uint64_t l2_at = l2_table + entry_size * ((guest >> cluster_bits_) & ((std::uint64_t{1} << l2_bits_) - 1));
    if (l2_table > file_.size() || l2_at > file_.size() - entry_size) return std::nullopt;
    const std::uint64_t entry = load_be64(file_.data() + l2_at);
    if (entry & kCompressed) return std::nullopt;
    const std::uint64_t host = entry & kOffsetMask;
    if (extended_) {
      const std::uint64_t bitmap = load_be64(file_.data() + l2_at + 8);
      if (bitmap == 0xffffffffu && host != 0) return host;
      if ((bitmap >> 32) == 0xffffffffu || (bitmap == 0)) return *zero = true, std::nullopt;
      return std::nullopt;
    }
    if ((entry & kZeroFlag) || host == 0) return *zero = true, std::nullopt;
    return host;
  }

  // The clusters and tables read since the last release leave the resident
  // set every kReleaseStep bytes of VM state: they lie anywhere in the image
  // (the VM state is written in order, but its clusters are where the
  // allocator put them), so what was touched is tracked, not a position.
  static constexpr std::uint64_t kReleaseStep = 16u << 20;
  void touch(std::uint64_t at, std::uint64_t len) noexcept {
    touched_lo_ = std::min(touched_lo_, at);
    touched_hi_ = std::max(touched_hi_, at + len);
  }
  void release_touched() noexcept {
    if (!release_ || pos_ < released_at_ + kReleaseStep || touched_hi_ <= touched_lo_) return;
    release_mapped_range(file_, touched_lo_, touched_hi_);
    released_at_ = pos_;
    touched_lo_ = UINT64_MAX;
    touched_hi_ = 0;
  }

  // The bytes [in_cluster, in_cluster + len) of the guest cluster at `guest`.
  Status copy(std::uint64_t guest, std::uint64_t in_cluster, std::byte* out, std::size_t len) {
    const std::uint64_t l1_index = guest >> (cluster_bits_ + l2_bits_);
    if (l1_index >= sn_.l1_size) return zeros(out, len);
    const std::uint64_t l1_at = sn_.l1_table_offset + 8 * l1_index;
    if (sn_.l1_table_offset > file_.size() || l1_at > file_.size() - 8)
      return make_error(ErrorCode::corrupt, sn_.entry_offset, "qcow2: the snapshot's L1 table at " + hex(sn_.l1_table_offset) + " lies beyond the end of the input");
    const std::uint64_t l2_table = load_be64(file_.data() + l1_at) & kOffsetMask;
    touch(l1_at, 8);
    if (l2_table == 0) return zeros(out, len);
    const std::uint64_t entry_size = extended_ ? 16 : 8;
    const std::uint64_t l2_index = (guest >> cluster_bits_) & ((std::uint64_t{1} << l2_bits_) - 1);
    const std::uint64_t l2_at = l2_table + entry_size * l2_index;
    if (l2_table > file_.size() || l2_at > file_.size() - entry_size)
      return make_error(ErrorCode::corrupt, l1_at, "qcow2: L1 entry points at an L2 table " + hex(l2_table) + " beyond the end of the input");
    const std::uint64_t entry = load_be64(file_.data() + l2_at);
    touch(l2_at, entry_size);
    if (entry & kCompressed) return compressed(entry, l2_at, in_cluster, out, len);
    const std::uint64_t host = entry & kOffsetMask;
    if (extended_) {
      // 32 subclusters: bitmap bits 0-31 allocated, 32-63 reads as zero.
      const std::uint64_t bitmap = load_be64(file_.data() + l2_at + 8);
      const std::uint64_t sub = cluster_ / 32;
      while (len > 0) {
        const unsigned i = static_cast<unsigned>(in_cluster / sub);
        const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(len, sub - in_cluster % sub));
        if (((bitmap >> (32 + i)) & 1) != 0 || ((bitmap >> i) & 1) == 0 || host == 0) MIGSCOPE_TRY(zeros(out, take));
        else MIGSCOPE_TRY(data(host, in_cluster, out, take, l2_at));
        out += take;
        len -= take;
        in_cluster += take;
      }
      return {};
    }
    if ((entry & kZeroFlag) || host == 0) return zeros(out, len);
    return data(host, in_cluster, out, len, l2_at);
  }

  static Status zeros(std::byte* out, std::size_t len) {
    std::memset(out, 0, len);
    return {};
  }

  Status data(std::uint64_t host, std::uint64_t in_cluster, std::byte* out, std::size_t len, std::uint64_t l2_at) {
    if (host > file_.size() || in_cluster + len > file_.size() - host)
      return make_error(ErrorCode::truncated, l2_at, "qcow2: L2 entry points at a cluster " + hex(host) + " beyond the end of the input");
    std::memcpy(out, file_.data() + host + in_cluster, len);
    touch(host + in_cluster, len);
    return {};
  }

  Status compressed(std::uint64_t entry, std::uint64_t l2_at, std::uint64_t in_cluster, std::byte* out, std::size_t len) {
    const unsigned x = 62 - (cluster_bits_ - 8);
    const std::uint64_t host = entry & ((std::uint64_t{1} << x) - 1);
    const std::uint64_t sectors = ((entry >> x) & ((std::uint64_t{1} << (cluster_bits_ - 8)) - 1)) + 1;
    if (host != cached_host_) {
      // The compressed data runs to the end of its last sector (its exact
      // length is not stored): what follows the data there is ignored.
      std::uint64_t avail = sectors * 512 - (host & 511);
      if (host > file_.size()) return make_error(ErrorCode::truncated, l2_at, "qcow2: a compressed cluster beyond the end of the input");
      avail = std::min<std::uint64_t>(avail, file_.size() - host);
      cluster_buf_.resize(static_cast<std::size_t>(cluster_));
      cached_host_ = UINT64_MAX;  // the buffer is overwritten, whatever the outcome
      const std::byte* src = file_.data() + host;
      touch(host, avail);
      if (compression_type_ == 1) MIGSCOPE_TRY(unzstd(src, static_cast<std::size_t>(avail), host, l2_at));
      else MIGSCOPE_TRY(inflate_cluster(src, static_cast<std::size_t>(avail), host, l2_at));
      cached_host_ = host;
    }
    std::memcpy(out, cluster_buf_.data() + in_cluster, len);
    return {};
  }

  // Raw deflate with a 4 KiB window (QEMU block/qcow2-threads.c qcow2_zlib_decompress).
  Status inflate_cluster(const std::byte* src, std::size_t n, std::uint64_t host, std::uint64_t l2_at) {
    z_stream zs{};
    if (inflateInit2(&zs, -12) != Z_OK) return make_error(ErrorCode::io, l2_at, "zlib: inflateInit2 failed");
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(src));
    zs.avail_in = static_cast<uInt>(n);
    zs.next_out = reinterpret_cast<Bytef*>(cluster_buf_.data());
    zs.avail_out = static_cast<uInt>(cluster_);
    const int rc = inflate(&zs, Z_FINISH);
    const bool whole = (rc == Z_STREAM_END || rc == Z_BUF_ERROR || rc == Z_OK) && zs.avail_out == 0;
    inflateEnd(&zs);
    if (!whole) return corrupt(host, "a compressed cluster does not inflate to a whole cluster");
    return {};
  }

  // zstd as QEMU reads it (qcow2_zstd_decompress): one or more frames that
  // give exactly one cluster and end with it, each call making progress.
  Status unzstd(const std::byte* src, std::size_t n, std::uint64_t host, std::uint64_t l2_at) {
    if (!dctx_) {
      dctx_.reset(ZSTD_createDCtx());
      if (!dctx_) return make_error(ErrorCode::io, l2_at, "zstd: cannot create a decompression context");
    }
    ZSTD_DCtx_reset(dctx_.get(), ZSTD_reset_session_only);
    ZSTD_outBuffer output{cluster_buf_.data(), static_cast<std::size_t>(cluster_), 0};
    ZSTD_inBuffer input{src, n, 0};
    std::size_t ret = 0;
    while (output.pos < output.size) {
      const std::size_t progress = input.pos + output.pos;
      ret = ZSTD_decompressStream(dctx_.get(), &output, &input);
      if (ZSTD_isError(ret))
        return corrupt(host, std::string("a zstd-compressed cluster does not decompress: ") + ZSTD_getErrorName(ret));
      if (input.pos + output.pos <= progress) return corrupt(host, "a zstd-compressed cluster ends before a whole cluster");
    }
    if (ret != 0) return corrupt(host, "a zstd-compressed cluster decompresses to more than a cluster");
    return {};
  }

  struct FreeDctx {
    void operator()(ZSTD_DCtx* d) const noexcept { ZSTD_freeDCtx(d); }
  };

  Bytes file_;
  std::string name_;
  unsigned cluster_bits_;
  std::uint64_t cluster_;
  bool extended_;
  std::uint8_t compression_type_;
  Qcow2Snapshot sn_;
  unsigned l2_bits_ = 0;
  std::uint64_t base_ = 0;
  std::uint64_t pos_ = 0;
  std::vector<std::byte> cluster_buf_;
  std::uint64_t cached_host_ = UINT64_MAX;
  std::unique_ptr<ZSTD_DCtx, FreeDctx> dctx_;
  bool release_;
  std::uint64_t released_at_ = 0;  // pos_ at the last release
  std::uint64_t touched_lo_ = UINT64_MAX, touched_hi_ = 0;
};

}  // namespace

std::unique_ptr<SequentialReader> open_vmstate(Bytes file, const Qcow2Image& image, const Qcow2Snapshot& snapshot,
                                               std::string name, bool release_behind) {
  return std::make_unique<VmstateReader>(file, image, snapshot, std::move(name), release_behind);
}

std::optional<std::vector<VmstateExtent>> vmstate_extents(Bytes file, const Qcow2Image& image, const Qcow2Snapshot& snapshot,
                                                          std::size_t max_extents) {
  return VmstateReader(file, image, snapshot, {}, false).extents(max_extents);
}

}  // namespace migscope
