#include "input/decompress.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <optional>

#include <boost/iostreams/filter/bzip2.hpp>
#include <boost/iostreams/filter/gzip.hpp>
#include <boost/iostreams/filter/lzma.hpp>
#include <boost/iostreams/filtering_stream.hpp>

#include <zstd.h>

#include "input/input.h"
#include "input/lzop.h"
#include "wire/hex.h"

namespace migscope {

namespace {

namespace io = boost::iostreams;

constexpr std::streamsize kBuffer = 1 << 20;
// The decompressed side's buffer: a filter that throws (damage, or data cut
// short) loses what it decompressed into it since the last refill, so this
// bounds what is lost before a cut (64 KiB; refills cost nothing at that size).
constexpr std::streamsize kOutBuffer = 64 << 10;

// The compressed bytes, handed to the filter from the mapping; what the
// filter has consumed leaves the resident set behind it (else a multi-GB
// payload stays mapped in: 2.4 GB of RSS for a 2.5 GB zstd save).
class MappedSource {
 public:
  using char_type = char;
  using category = io::source_tag;
  MappedSource(Bytes mapping, std::uint64_t begin, bool release) : mapping_(mapping), pos_(begin), released_(begin), release_(release) {}
  std::streamsize read(char* out, std::streamsize n) {
    if (pos_ >= mapping_.size()) return -1;
    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(static_cast<std::uint64_t>(n), mapping_.size() - pos_));
    std::memcpy(out, mapping_.data() + pos_, take);
    pos_ += take;
    if (release_ && pos_ - released_ >= kReleaseStep) {
      release_mapped_range(mapping_, released_, pos_);
      released_ = pos_;
    }
    return static_cast<std::streamsize>(take);
  }

 private:
  static constexpr std::uint64_t kReleaseStep = 16u << 20;
  Bytes mapping_;
  std::uint64_t pos_, released_;
  bool release_;
};

// Boost's filters report damage by exceptions, which become an Error here,
// the boundary.
class DecompressingReader final : public SequentialReader {
 public:
  DecompressingReader(Bytes mapping, std::uint64_t begin, Compression kind, std::string name, std::uint64_t file_offset,
                      bool release_behind)
      : kind_(kind), name_(std::move(name)), file_offset_(file_offset) {
    switch (kind) {
      case Compression::gzip: in_.push(io::gzip_decompressor(io::gzip::default_window_bits, kBuffer), kOutBuffer); break;
      case Compression::bzip2: in_.push(io::bzip2_decompressor(false, kBuffer), kOutBuffer); break;
      case Compression::xz: in_.push(io::lzma_decompressor(kBuffer), kOutBuffer); break;
      default: break;
    }
    in_.push(MappedSource(mapping, begin, release_behind), kBuffer);
  }

  // The bytes decompressed before damage are handed out first; the error
  // comes with the next call, and stays. (istream::read would lose them: a
  // refill that throws leaves its count at 0, however much it had copied, so
  // the stream buffer is read directly: what the filter holds, then one byte
  // across each refill.)
  Result<std::size_t> read(std::span<std::byte> out) override {
    if (failed_) return *failed_;
    std::streambuf& filtered = *in_.rdbuf();
    char* dst = reinterpret_cast<char*>(out.data());
    std::size_t n = 0;
    try {
      while (n < out.size()) {
        const std::streamsize ready = filtered.in_avail();
        if (ready > 0) {
          const auto want = static_cast<std::streamsize>(std::min<std::uint64_t>(static_cast<std::uint64_t>(ready), out.size() - n));
          n += static_cast<std::size_t>(filtered.sgetn(dst + n, want));
          continue;
        }
        const int c = filtered.sbumpc();
        if (c == std::char_traits<char>::eof()) break;
        dst[n++] = static_cast<char>(c);
      }
    } catch (const std::exception& e) {
      produced_ += n;
      return fail(n, e.what());
    } catch (...) {
      produced_ += n;
      return fail(n, "the compressed data is damaged or cut short");
    }
    produced_ += n;
    return n;
  }
  std::string name() const override { return name_; }

 private:
  Result<std::size_t> fail(std::size_t n, const std::string& what) {
    failed_ = make_error(ErrorCode::corrupt, file_offset_,
                         std::string(compression_name(kind_)) + " data starting here: " + what + " (after " +
                             std::to_string(produced_) + " bytes of stream)");
    if (n > 0) return n;
    return *failed_;
  }

  Compression kind_;
  std::string name_;
  std::uint64_t file_offset_;
  std::uint64_t produced_ = 0;
  std::optional<Error> failed_;
  io::filtering_istream in_;
};

// zstd through libzstd's streaming API, not Boost's filter: that one ends
// quietly where a frame is cut short (a cut save read as a shorter stream,
// or as an empty file). Frames back to back and skippable frames are read
// as `zstd -dc` reads them; the input behind is released as MappedSource does.
class ZstdReader final : public SequentialReader {
 public:
  ZstdReader(Bytes data, std::string name, std::uint64_t file_offset, bool release_behind)
      : data_(data), name_(std::move(name)), file_offset_(file_offset), release_(release_behind),
        in_{data.data(), data.size(), 0} {}

  Result<std::size_t> read(std::span<std::byte> out) override {
    if (failed_) return *failed_;
    if (!dctx_) {
      dctx_.reset(ZSTD_createDCtx());
      if (!dctx_) return make_error(ErrorCode::io, file_offset_, "zstd: cannot create a decompression context");
    }
    ZSTD_outBuffer o{out.data(), out.size(), 0};
    while (o.pos < o.size) {
      if (in_.pos == in_.size && last_ == 0) break;  // every frame ended and was flushed
      const std::size_t in_before = in_.pos, out_before = o.pos;
      last_ = ZSTD_decompressStream(dctx_.get(), &o, &in_);
      if (ZSTD_isError(last_)) return fail(o.pos, ZSTD_getErrorName(last_));
      // No progress only when the input ended inside a frame.
      if (in_.pos == in_before && o.pos == out_before) return fail(o.pos, "cut short inside a frame");
      if (release_ && in_.pos - released_ >= kReleaseStep) {
        release_mapped_range(data_, released_, in_.pos);
        released_ = in_.pos;
      }
    }
    produced_ += o.pos;
    return o.pos;
  }
  std::string name() const override { return name_; }

 private:
  static constexpr std::uint64_t kReleaseStep = 16u << 20;

  // As DecompressingReader: what was decompressed first, the error next, for good.
  Result<std::size_t> fail(std::size_t n, const std::string& what) {
    produced_ += n;
    failed_ = make_error(ErrorCode::corrupt, file_offset_ + in_.pos,
                         "zstd data starting at " + hex(file_offset_) + ": " + what + " (after " +
                             std::to_string(produced_) + " bytes of stream)");
    if (n > 0) return n;
    return *failed_;
  }

  struct FreeDctx {
    void operator()(ZSTD_DCtx* d) const noexcept { ZSTD_freeDCtx(d); }
  };

  Bytes data_;
  std::string name_;
  std::uint64_t file_offset_;
  bool release_;
  ZSTD_inBuffer in_;
  std::unique_ptr<ZSTD_DCtx, FreeDctx> dctx_;
  std::size_t last_ = 1;  // ZSTD_decompressStream's last answer: 0 at the end of a frame
  std::uint64_t released_ = 0;
  std::uint64_t produced_ = 0;
  std::optional<Error> failed_;
};

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

Result<std::unique_ptr<SequentialReader>> make_decompressor(Bytes compressed, Compression kind, std::string name,
                                                            std::uint64_t file_offset, bool release_behind) {
  switch (kind) {
    case Compression::gzip:
    case Compression::bzip2:
    case Compression::xz:
      try {
        return std::unique_ptr<SequentialReader>(
            std::make_unique<DecompressingReader>(compressed, 0, kind, std::move(name), file_offset, release_behind));
      } catch (const std::exception& e) {
        return make_error(ErrorCode::io, file_offset, std::string("cannot start the decompressor: ") + e.what());
      }
    case Compression::zstd:
      return std::unique_ptr<SequentialReader>(std::make_unique<ZstdReader>(compressed, std::move(name), file_offset, release_behind));
    case Compression::lzop:
      return make_lzop_reader(compressed, std::move(name), file_offset, release_behind);
    case Compression::none:
      break;
  }
  return make_error(ErrorCode::usage, file_offset, "not a compressed stream");
}

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

}  // namespace migscope
