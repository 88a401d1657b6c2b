// The device-state half of `diff`: two state documents (the JSON `state`
// writes, upstream's -d state layout) compared section by section and field
// by field. Sections are matched by idstr and instance, not by their key
// ("cpu (5)": the number is the section id, which shifts with the device set).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "migscope/diff.h"
#include "migscope/error.h"

namespace migscope::compat {

/// What the stream said of a section the document holds (a dump's walk
/// knows it; a state document alone gives only the key).
struct StateSection {
  std::string key;  ///< "<idstr> (<section id>)"
  std::string idstr;
  std::uint32_t instance = 0;
  std::optional<std::uint32_t> version;
};

struct StateDocument {
  std::string_view json;
  std::string name;                   ///< names the document in errors
  std::vector<StateSection> sections; ///< by key; sections not listed are read from their key
};

struct StateDiffOptions {
  std::vector<std::string> ignores;   ///< path globs (see diff::default_ignores)
  bool skip_ram = false;              ///< leave out "ram" sections (the RAM diff covers them)
};

struct StateDiff {
  std::vector<diff::Difference> differences;
  std::uint64_t ignored = 0;
  std::uint64_t sections_a = 0, sections_b = 0, matched = 0;
};

/// Compare two state documents. Errors name the document and the byte offset.
Result<StateDiff> diff_states(const StateDocument& a, const StateDocument& b, const StateDiffOptions& options);

/// Whether `path` or one of its ancestors (cut at a '/' or '[') matches a glob.
bool path_ignored(std::string_view path, const std::vector<std::string>& globs);

/// "<idstr> (<n>)" → idstr and n; false if the key is not of that form.
bool split_state_key(std::string_view key, std::string& idstr, std::uint32_t& number);

}  // namespace migscope::compat
