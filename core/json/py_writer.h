// Streaming JSON output in the exact layout of Python's
// json.JSONEncoder(indent=4, separators=(',', ': ')) with ensure_ascii, which
// is what upstream analyze-migration.py prints. RapidJSON's PrettyWriter does
// the layout; strings are escaped here the way Python does (lowercase \u00xx,
// DEL and non-ASCII escaped) and handed over as raw values.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/prettywriter.h>

#include "json/escape.h"

namespace migscope::json {

/// A RapidJSON output stream that buffers into a FILE* or appends to a string.
class OutBuffer {
 public:
  using Ch = char;
  explicit OutBuffer(std::FILE* file) : file_(file) {}
  explicit OutBuffer(std::string* text) : text_(text) {}
  /// One of the two (an operation's TextOutput); neither discards the text.
  OutBuffer(std::FILE* file, std::string* text) : file_(file), text_(text) {}
  OutBuffer(const OutBuffer&) = delete;
  OutBuffer& operator=(const OutBuffer&) = delete;
  ~OutBuffer() { Flush(); }

  void Put(char c) {
    if (used_ == sizeof buf_) Flush();
    buf_[used_++] = c;
  }
  void Write(std::string_view s) {
    while (!s.empty()) {
      if (used_ == sizeof buf_) Flush();
      const std::size_t n = std::min(s.size(), sizeof buf_ - used_);
      std::memcpy(buf_ + used_, s.data(), n);
      used_ += n;
      s.remove_prefix(n);
    }
  }
  void Flush();
  /// True once a write to the FILE* failed (e.g. EPIPE, ENOSPC).
  bool failed() const noexcept { return failed_; }

 private:
  std::FILE* file_ = nullptr;
  std::string* text_ = nullptr;
  std::size_t used_ = 0;
  bool failed_ = false;
  char buf_[1 << 16];
};

class PyWriter {
 public:
  explicit PyWriter(OutBuffer& out) : out_(out), w_(out) { w_.SetIndent(' ', 4); }

  void start_object() { open(true); w_.StartObject(); }
  void end_object() { close(); w_.EndObject(); }
  void start_array() { open(false); w_.StartArray(); }
  void end_array() { close(); w_.EndArray(); }
  void key(std::string_view k) {
    raw_string(k);
    after_key_ = true;
  }
  void string(std::string_view s) { value(); raw_string(s); }
  void boolean(bool b) { value(); w_.Bool(b); }
  void null() { value(); w_.Null(); }
  void int64(std::int64_t v) { value(); w_.Int64(v); }
  void uint64(std::uint64_t v) { value(); w_.Uint64(v); }

  /// Containers open right now (0 = at top level).
  std::size_t depth() const noexcept { return open_.size(); }
  /// True if the innermost open container is an object.
  bool in_object() const noexcept { return !open_.empty() && open_.back(); }
  /// Close containers until `depth` remain, giving a pending key a null value,
  /// so a document cut short by an error is still valid JSON.
  void close_to(std::size_t depth) {
    if (after_key_) null();
    while (open_.size() > depth) {
      if (open_.back()) end_object();
      else end_array();
    }
  }
  /// A number copied verbatim from a parsed document (keeps its text form).
  void raw_number(std::string_view text) {
    value();
    w_.RawValue(text.data(), text.size(), rapidjson::kNumberType);
  }
  /// Finish the document with the newline Python's print() adds.
  void end_document() { out_.Put('\n'); out_.Flush(); }

 private:
  void open(bool object) {
    value();
    open_.push_back(object);
  }
  void close() {
    after_key_ = false;
    open_.pop_back();
  }
  void value() noexcept { after_key_ = false; }
  void raw_string(std::string_view s) {
    scratch_.clear();
    append_python_string(scratch_, s);
    w_.RawValue(scratch_.data(), scratch_.size(), rapidjson::kStringType);
  }

  OutBuffer& out_;
  rapidjson::PrettyWriter<OutBuffer> w_;
  std::string scratch_;
  std::vector<bool> open_;  // true: object, false: array
  bool after_key_ = false;
};

}  // namespace migscope::json
