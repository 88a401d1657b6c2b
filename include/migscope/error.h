// Errors are values: every failure carries a code, the byte offset where it
// happened and a one-line detail naming what was expected and what was found.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace migscope {

enum class ErrorCode : std::uint8_t {
  ok = 0,
  usage,            ///< bad command line or API misuse
  not_a_stream,     ///< the input is not a QEMU migration stream (names what it is)
  unsupported,      ///< a valid stream using a feature we cannot decode
  truncated,        ///< the input ends before a record is complete
  corrupt,          ///< a value in the input contradicts the format
  invalid_json,     ///< a JSON document (vmdesc, -dump-vmstate) is malformed or of the wrong shape
  output_refused,   ///< an output would overwrite data or escape its directory
  io,               ///< the operating system refused a read or a write
};

/// How the user can get past an error or a warning. The library says which
/// applies; a front end says how (core never names a command-line flag).
enum class Remedy : std::uint8_t {
  none,
  give_description,  ///< a vmdesc from another run of the same QEMU and machine would decode or delimit it
  allow_overwrite,   ///< the output exists, and replacing it was not asked for
  keep_going,        ///< the input is incomplete (a save that never finished): what it holds can be shown anyway
};

/// Text read from the input made safe for one line on a terminal: control
/// bytes (NUL, ESC, newlines, DEL) become \xNN; everything else is kept.
std::string printable(std::string_view text);

/// Short stable name of a code ("truncated", "corrupt", ...).
std::string_view error_code_name(ErrorCode code) noexcept;

/// An error: what kind, where in the input (byte offset, or no_offset), and why.
struct Error {
  static constexpr std::uint64_t no_offset = ~std::uint64_t{0};
  ErrorCode code = ErrorCode::ok;
  std::uint64_t offset = no_offset;
  std::string detail;
  Remedy remedy = Remedy::none;

  bool has_offset() const noexcept { return offset != no_offset; }
  /// "at 0x1f: truncated: ..." as one printable line (control bytes from the input become \xNN).
  std::string message() const;
};

inline Error make_error(ErrorCode code, std::uint64_t offset, std::string detail, Remedy remedy = Remedy::none) {
  return Error{code, offset, std::move(detail), remedy};
}

/// Either a value or an Error (std::expected is C++23; this is the subset we need).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), failed_(true) {}  // NOLINT

  bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  const Error& error() const& { return err_; }
  Error&& error() && { return std::move(err_); }

 private:
  Error err_;
  bool failed_ = false;
};

using Status = Result<void>;

}  // namespace migscope

#define MIGSCOPE_CONCAT_INNER(a, b) a##b
#define MIGSCOPE_CONCAT(a, b) MIGSCOPE_CONCAT_INNER(a, b)

// Propagate an error from an expression yielding Result<...>.
#define MIGSCOPE_TRY(expr) MIGSCOPE_TRY_IMPL(MIGSCOPE_CONCAT(migscope_try_, __COUNTER__), expr)
#define MIGSCOPE_TRY_IMPL(tmp, expr)                \
  do {                                              \
    auto&& tmp = (expr);                            \
    if (!tmp.ok()) return std::move(tmp).error();   \
  } while (0)

// Declare `lhs` from the value of a Result, or return its error.
#define MIGSCOPE_ASSIGN(lhs, expr) MIGSCOPE_ASSIGN_IMPL(MIGSCOPE_CONCAT(migscope_r_, __COUNTER__), lhs, expr)
#define MIGSCOPE_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                         \
  if (!tmp.ok()) return std::move(tmp).error(); \
  lhs = std::move(tmp).value()
