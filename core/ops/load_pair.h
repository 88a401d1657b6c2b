// Two documents loaded at once: the second on a thread of its own when both
// are large enough for that to pay. Shared by the loaders of check.cpp and
// by the plain-text one of check_plain.cpp, which is apart so that a program
// using only it (the vmstate-static-checker drop-in) does not link the
// decompressors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

namespace migscope::ops::detail {

// Small documents parse in well under a millisecond (BM_CheckerParseDump:
// ~2 ms per 790 KB), where a second thread is not worth starting; the
// threshold is a choice, not a measurement.
constexpr std::uintmax_t kParallelLoadBytes = 64 * 1024;

inline bool worth_a_thread(const std::string& a, const std::string& b) {
  std::error_code ec1, ec2;
  const std::uintmax_t sa = std::filesystem::file_size(a, ec1), sb = std::filesystem::file_size(b, ec2);
  return !ec1 && !ec2 && sa >= kParallelLoadBytes && sb >= kParallelLoadBytes;
}

template <typename Load>
auto load_both(const std::string& first, const std::string& second, Load load)
    -> std::pair<decltype(load(first)), decltype(load(second))> {
  using R = decltype(load(first));
  if (worth_a_thread(first, second)) {
    std::optional<R> b;
    std::thread worker;
    try {
      worker = std::thread([&] { b.emplace(load(second)); });
    } catch (const std::system_error&) {  // no thread to be had: one after the other, below
    }
    if (worker.joinable()) {
      R a = load(first);
      worker.join();
      return {std::move(a), std::move(*b)};
    }
  }
  R a = load(first);
  R b = load(second);
  return {std::move(a), std::move(b)};
}

}  // namespace migscope::ops::detail
