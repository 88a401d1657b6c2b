// Rename tables as data: field renames keyed by description name, section
// renames as ordered pairs, with upstream's matching rules (vmstate-static-
// checker.py check_fields_match / get_changed_sec_name).
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "wire/error.h"

namespace migscope::compat {

struct RenameTable {
  /// scope (description or section name) → groups of interchangeable names.
  std::unordered_map<std::string, std::vector<std::vector<std::string>>> fields;
  /// Section renames, tried in order in both directions.
  std::vector<std::pair<std::string, std::string>> sections;

  /// check_fields_match(): equal, or both names in one group of `scope`.
  bool names_match(std::string_view scope, std::string_view a, std::string_view b) const;
  /// get_changed_sec_name(): the other name of the first pair containing
  /// `section`, or "" when none does (upstream then looks "" up in dest).
  std::string changed_section_name(std::string_view section) const;
};

/// Parse a rename file: {"fields": {scope: [names...]}, "sections": [[a, b], ...]};
/// "schema" and "comment" are ignored, any other top-level key is an error.
Result<RenameTable> parse_renames(std::string_view json);

/// The table shipped in core/compat/renames.json (embedded at build time).
Result<RenameTable> builtin_renames();
/// The embedded JSON text itself.
std::string_view builtin_renames_json();

/// Add `more` to `into`: new groups for existing scopes, section pairs appended.
void merge_renames(RenameTable& into, const RenameTable& more);

}  // namespace migscope::compat
