#include "input/decompress.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <optional>
#include <utility>

#include <boost/iostreams/filter/bzip2.hpp>
#include <boost/iostreams/filter/gzip.hpp>
#include <boost/iostreams/filter/lzma.hpp>
#include <boost/iostreams/filter/zstd.hpp>

#include "input/input.h"
#include "input/lzop.h"
#include "input/zstd_frames.h"
#include "wire/hex.h"

namespace migscope {

namespace {

namespace io = boost::iostreams;

constexpr std::streamsize kBuffer = 1 << 20;

// The compressed bytes, handed to the filter from the mapping; what the
// filter has consumed leaves the resident set behind it (else a multi-GB
// payload stays mapped in: 2.4 GB of RSS for a 2.5 GB zstd save).
class MappedSource {
 public:
  using char_type = char;
  using category = io::source_tag;
  MappedSource(Bytes mapping, std::uint64_t begin, std::uint64_t file_offset, ZstdFrameTracker* frames, bool release)
      : mapping_(mapping), pos_(begin), released_(begin), file_offset_(file_offset), frames_(frames), release_(release) {}
  std::streamsize read(char* out, std::streamsize n) {
    if (pos_ >= mapping_.size()) return -1;
    // At most kPiece at a time: a filter sees the end of its input only at
    // the very end, so a cut costs the last piece, not all it had buffered.
    const std::size_t take = static_cast<std::size_t>(
        std::min<std::uint64_t>({static_cast<std::uint64_t>(n), mapping_.size() - pos_, kPiece}));
    // Map the input ahead in one call per 8 MiB, not a fault per 4 KiB.
    if (release_ && pos_ + take > populated_) {
      populated_ = std::min<std::uint64_t>(mapping_.size(), std::max(pos_, populated_) + kPopulate);
      populate_mapped_range(mapping_, pos_, populated_);
    }
    std::memcpy(out, mapping_.data() + pos_, take);
    if (frames_) frames_->feed(mapping_.data() + pos_, take, file_offset_ + pos_);
    pos_ += take;
    if (consumed_) consumed_->store(file_offset_ + pos_, std::memory_order_relaxed);
    if (release_ && pos_ - released_ >= kReleaseStep) {
      release_mapped_range(mapping_, released_, pos_);
      released_ = pos_;
    }
    return static_cast<std::streamsize>(take);
  }
  bool exhausted() const noexcept { return pos_ >= mapping_.size(); }
  void count_into(std::atomic<std::uint64_t>* consumed) noexcept { consumed_ = consumed; }
  std::uint64_t size() const noexcept { return mapping_.size(); }

 private:
  static constexpr std::uint64_t kReleaseStep = 4u << 20;
  static constexpr std::uint64_t kPiece = 256u << 10;
  static constexpr std::uint64_t kPopulate = 8u << 20;
  std::uint64_t populated_ = 0;
  Bytes mapping_;
  std::uint64_t pos_, released_, file_offset_;
  ZstdFrameTracker* frames_;
  std::atomic<std::uint64_t>* consumed_ = nullptr;  // progress: the file offset read up to
  bool release_;  // a read-only file mapping: what was read may leave the resident set
};

// Boost's filters report damage by exceptions; they become an Error here, the
// boundary. The filter is driven directly (not through a filtering_istream),
// so it decompresses straight into the caller's buffer: one copy of the
// stream less (a read-once window is that buffer).
template <typename Filter>
class DecompressingReader final : public SequentialReader {
 public:
  DecompressingReader(Bytes mapping, std::uint64_t begin, Compression kind, std::string name, std::uint64_t file_offset,
                      Filter filter, bool release_behind)
      : kind_(kind), name_(std::move(name)), file_offset_(file_offset), filter_(std::move(filter)),
        source_(mapping, begin, file_offset, kind == Compression::zstd ? &frames_ : nullptr, release_behind) {}
  void count_into(std::atomic<std::uint64_t>* consumed) noexcept { source_.count_into(consumed); }

  // What was decoded before damage is returned first, the damage on the next
  // call: a cut file yields all it holds.
  Result<std::size_t> read(std::span<std::byte> out) override {
    if (pending_) return *pending_;
    auto r = decode(out);
    if (r.ok()) return r;
    pending_ = std::move(r).error();  // and for every call after
    if (partial_ == 0) return *pending_;
    return std::exchange(partial_, 0);
  }
  std::string name() const override { return name_; }

 private:
  Result<std::size_t> decode(std::span<std::byte> out) {
    std::size_t n = 0;
    partial_ = 0;
    try {
      while (n < out.size() && !ended_) {
        const std::streamsize got = filter_.read(source_, reinterpret_cast<char*>(out.data() + n),
                                                 static_cast<std::streamsize>(std::min<std::size_t>(out.size() - n, kMaxRead)));
        if (got < 0) {
          ended_ = true;
          // Boost's zstd filter ends where its input ends, even inside a frame.
          if (kind_ == Compression::zstd && !frames_.between_frames()) {
            produced_ += n;
            if (!frames_.why().empty()) return damaged(frames_.why());
            return damaged("the data ends inside the frame that starts at compressed offset 0x" +
                               hex_digits(frames_.frame_start()) + ": the file was cut short",
                           ErrorCode::truncated);
          }
          break;
        }
        n += static_cast<std::size_t>(got);
        partial_ = n;
        // A filter that neither produces nor ends, input left: never spin on it.
        if (got == 0 && ++idle_ > kMaxIdle) return damaged("the decompressor stopped making progress");
        if (got > 0) idle_ = 0;
        if (got == 0 && source_.exhausted()) {
          // Input gone, yet the filter has not seen its end: cut short.
          produced_ += n;
          return damaged("the compressed data is cut short", ErrorCode::truncated);
        }
      }
    } catch (const io::gzip_error& e) {
      produced_ += n;
      if (e.error() == io::gzip::zlib_error) return zlib_damage(e.zlib_error_code());
      if (e.error() == io::gzip::bad_crc) return damaged("its CRC does not match the data (damaged)");
      if (e.error() == io::gzip::bad_length) return damaged("its length does not match the data (damaged)");
      if (e.error() == io::gzip::bad_footer) return damaged("the file ends inside a gzip footer: it was cut short", ErrorCode::truncated);
      if (e.error() == io::gzip::bad_method) return damaged("unknown gzip compression method");
      return damaged("malformed gzip header");
    } catch (const io::zlib_error& e) {
      produced_ += n;
      return zlib_damage(e.error());
    } catch (const io::bzip2_error& e) {
      produced_ += n;
      if (e.error() == io::bzip2::unexpected_eof) return damaged("the file was cut short", ErrorCode::truncated);
      if (e.error() == io::bzip2::data_error_magic) return damaged("not bzip2 data (bad magic)");
      return damaged("the bzip2 data is damaged (error " + std::to_string(e.error()) + ")");
    } catch (const io::lzma_error& e) {
      produced_ += n;
      if (e.error() == io::lzma::buf_error) return damaged("the file was cut short", ErrorCode::truncated);
      if (e.error() == io::lzma::data_error) return damaged("the xz data is damaged");
      return damaged("xz error " + std::to_string(e.error()));
    } catch (const std::exception& e) {
      produced_ += n;
      return damaged(e.what());
    }
    produced_ += n;
    partial_ = 0;
    return n;
  }

  // Output requests of at most this much: damage loses at most that much of
  // what comes before it (a filter's exception discards its own call's output).
  static constexpr std::size_t kMaxRead = std::size_t{64} << 10;

  Error zlib_damage(int code) const {
    if (code == io::zlib::buf_error) return damaged("the file was cut short", ErrorCode::truncated);
    if (code == io::zlib::data_error) return damaged("the deflate data is damaged");
    return damaged("zlib error " + std::to_string(code));
  }

  // A cut is named where the data ends; damage where the compressed data starts.
  Error damaged(const std::string& what, ErrorCode code = ErrorCode::corrupt) const {
    if (code == ErrorCode::truncated)
      return make_error(code, file_offset_ + source_.size(),
                        std::string(compression_name(kind_)) + " data ends here: " + what + " (after " +
                            std::to_string(produced_) + " bytes of stream)");
    return make_error(code, file_offset_,
                      std::string(compression_name(kind_)) + " data starting here: " + what + " (after " +
                          std::to_string(produced_) + " bytes of stream)");
  }

  Compression kind_;
  std::string name_;
  std::uint64_t file_offset_;
  std::uint64_t produced_ = 0;
  bool ended_ = false;
  static constexpr unsigned kMaxIdle = 64;
  unsigned idle_ = 0;                 // reads in a row that gave nothing
  std::size_t partial_ = 0;           // decoded by the call that failed
  std::optional<Error> pending_;      // the damage, for the call after the bytes before it
  ZstdFrameTracker frames_;
  Filter filter_;
  MappedSource source_;
};

template <typename Filter>
std::unique_ptr<SequentialReader> reader_of(Bytes compressed, Compression kind, std::string name, std::uint64_t file_offset,
                                            Filter filter, bool release_behind, std::atomic<std::uint64_t>* consumed) {
  auto r = std::make_unique<DecompressingReader<Filter>>(compressed, 0, kind, std::move(name), file_offset, std::move(filter),
                                                         release_behind);
  r->count_into(consumed);
  return r;
}

// An incomplete save's payload: its first error ends its bytes.
class EndAtDamage final : public SequentialReader {
 public:
  explicit EndAtDamage(std::unique_ptr<SequentialReader> inner) : inner_(std::move(inner)) {}
  Result<std::size_t> read(std::span<std::byte> out) override {
    if (ended_) return std::size_t{0};
    auto n = inner_->read(out);
    if (n.ok()) return n;
    ended_ = true;
    return std::size_t{0};
  }
  std::string name() const override { return inner_->name(); }

 private:
  std::unique_ptr<SequentialReader> inner_;
  bool ended_ = false;
};

}  // namespace

std::unique_ptr<SequentialReader> end_at_damage(std::unique_ptr<SequentialReader> reader) {
  return std::make_unique<EndAtDamage>(std::move(reader));
}

Status name_if_incomplete(const StreamLocation& location, Status status) {
  if (status.ok() || !location.libvirt || location.libvirt->complete) return status;
  Error e = std::move(status).error();
  if (e.code == ErrorCode::corrupt || e.code == ErrorCode::not_a_stream) e.code = ErrorCode::truncated;
  e.detail = std::string(kIncompleteSaveText) + ": " + e.detail;
  return e;
}

Result<std::unique_ptr<SequentialReader>> make_decompressor(Bytes compressed, Compression kind, std::string name,
                                                            std::uint64_t file_offset, bool release_behind,
                                                            std::atomic<std::uint64_t>* consumed) {
  switch (kind) {
    case Compression::gzip:
    case Compression::bzip2:
    case Compression::xz:
    case Compression::zstd:
      try {
        switch (kind) {
          case Compression::gzip:
            return reader_of(compressed, kind, std::move(name), file_offset,
                             io::gzip_decompressor(io::gzip::default_window_bits, kBuffer), release_behind, consumed);
          case Compression::bzip2:
            return reader_of(compressed, kind, std::move(name), file_offset, io::bzip2_decompressor(false, kBuffer), release_behind, consumed);
          case Compression::xz:
            return reader_of(compressed, kind, std::move(name), file_offset, io::lzma_decompressor(kBuffer), release_behind, consumed);
          default:
            return reader_of(compressed, kind, std::move(name), file_offset, io::zstd_decompressor(kBuffer), release_behind, consumed);
        }
      } catch (const std::exception& e) {
        return make_error(ErrorCode::io, file_offset, std::string("cannot start the decompressor: ") + e.what());
      }
    case Compression::lzop:
      return make_lzop_reader(compressed, std::move(name), file_offset, release_behind);
    case Compression::none:
      break;
  }
  return make_error(ErrorCode::usage, file_offset, "not a compressed stream");
}

}  // namespace migscope
