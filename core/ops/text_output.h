// Operations' text goes through one buffer per call: this opens it on the
// caller's TextOutput and turns a failed write into an Error naming it.
#pragma once

#include <cstdio>

#include "json/py_writer.h"
#include "migscope/error.h"
#include "migscope/ops.h"

namespace migscope::ops {

class OutputBuffer {
 public:
  explicit OutputBuffer(const TextOutput& out) : out_(out), buffer_(out.file, out.text) {}

  json::OutBuffer& buffer() noexcept { return buffer_; }
  /// Flush everything written so far to the FILE*.
  void flush() {
    buffer_.Flush();
    if (out_.file) std::fflush(out_.file);
  }
  /// Flush; an io error if any write failed.
  Status finish() {
    flush();
    if (buffer_.failed() || (out_.file && std::ferror(out_.file)))
      return make_error(ErrorCode::io, Error::no_offset, "cannot write to " + out_.name);
    return {};
  }

 private:
  const TextOutput& out_;
  json::OutBuffer buffer_;
};

}  // namespace migscope::ops
