// libFuzzer target: the parsers and renderers of `migscope diff` in core/compat:
// the device-state half of a diff (diff_states over two state JSON documents,
// the ignore globs of path_ignored, split_state_key) and render_diff.
// Input: state JSON A, NUL, state JSON B, NUL, then ignore globs, one a line
// (the first line also names a RAM block of the report rendered).
//  1. diff_states(A, B) with and without the globs (and "ram" sections
//     skipped or not, as the last byte says): the differences kept with the
//     globs are exactly those without them that path_ignored does not drop,
//     `ignored` counts the others; B against A matches the same sections;
//     A against itself matches every section of A.
//  2. The report rendered as text, JSON and JSON Lines: the JSON is one
//     document, each JSON line a document (RFC 8259: the parser validates
//     UTF-8); the text is one line per item, with no control bytes from the
//     input (a terminal would run them: the class of
//     regressions/cli-escape-in-block-name.bin).
// (regressions/diff-text-control.bin: an ESC in a field name reached the text.)
// Errors must be clean values (fuzz_common.h).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "compat/state_diff.h"
#include "fuzz_common.h"
#include "json/json_util.h"
#include "migscope/diff.h"

namespace {

using namespace migscope;

constexpr std::size_t kMaxGlobs = 16;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (std::size_t k = 1; k < n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = cp << 6 | (d & 0x3f);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n;
  }
  return true;
}

bool same(const diff::Difference& x, const diff::Difference& y) {
  return x.kind == y.kind && x.path == y.path && x.a == y.a && x.b == y.b;
}

void check_json(std::string_view text, const char* what) {
  rapidjson::Document doc;
  auto st = json::parse(text, doc, what);
  if (!st.ok()) fuzz::fail(what, st.error());
}

void render_all(const compat::StateDiff& d, std::string_view block) {
  diff::DiffReport r;
  r.a_name = "A";
  r.b_name = "B";
  r.a_is_state = r.b_is_state = true;
  r.sections_a = d.sections_a;
  r.sections_b = d.sections_b;
  r.sections_matched = d.matched;
  r.differences = d.differences;
  r.ignored = d.ignored;
  std::size_t block_lines = 0;
  if (!block.empty() && valid_utf8(block)) {
    r.ram_compared = true;
    r.page_size = 4096;
    diff::BlockDiff b;
    b.name = std::string(block);
    b.a = {true, 1 << 20, 256, 200, 56};
    b.b = {true, 1 << 20, 256, 199, 57};
    b.pages_differ = 1;
    b.ranges.push_back({0x2000, 0x3000, 1});
    r.blocks.push_back(std::move(b));
    block_lines = 2;  // the block, its range
  } else {
    r.ram_note = "state documents";
  }
  const std::string summary = diff::diff_summary_line(r);
  if ((summary.find(" are identical") != std::string::npos) != r.identical()) die("the summary line contradicts identical()");

  std::string text, js, jsonl;
  diff::render_diff(r, diff::DiffFormat::text, [&](std::string_view p) { text += p; });
  diff::render_diff(r, diff::DiffFormat::json, [&](std::string_view p) { js += p; });
  diff::render_diff(r, diff::DiffFormat::jsonl, [&](std::string_view p) { jsonl += p; });
  check_json(js, "diff --json output");
  std::size_t lines = 0;
  for (std::size_t at = 0; at < jsonl.size();) {
    const std::size_t nl = jsonl.find('\n', at);
    if (nl == std::string::npos) die("a JSON line without its newline");
    check_json(std::string_view(jsonl).substr(at, nl - at), "diff --jsonl line");
    ++lines;
    at = nl + 1;
  }
  if (lines != 1 + r.differences.size() + block_lines) die("diff --jsonl: not one line per item");
  if (text.compare(0, summary.size(), summary) != 0) die("the text does not start with the summary line");
  std::size_t newlines = 0;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') ++newlines;
    else if (u < 0x20 || u == 0x7f) die("diff text output carries a control byte from the input");
  }
  if (newlines != 1 + r.differences.size() + block_lines) die("diff text output: not one line per item");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t nul1 = in.find('\0');
  if (nul1 == std::string_view::npos) return 0;
  const std::size_t nul2 = in.find('\0', nul1 + 1);
  const std::string_view a_text = in.substr(0, nul1);
  const std::string_view b_text = in.substr(nul1 + 1, nul2 == std::string_view::npos ? std::string_view::npos : nul2 - nul1 - 1);
  const std::string_view rest = nul2 == std::string_view::npos ? std::string_view() : in.substr(nul2 + 1);
  const std::uint8_t pick = size ? data[size - 1] : 0;

  std::vector<std::string> globs;
  std::string_view first_line;
  for (std::size_t at = 0; at < rest.size() && globs.size() < kMaxGlobs;) {
    std::size_t nl = rest.find('\n', at);
    if (nl == std::string_view::npos) nl = rest.size();
    const std::string_view line = rest.substr(at, nl - at);
    if (globs.empty()) first_line = line;
    if (line.find('\0') == std::string_view::npos) globs.emplace_back(line);
    std::string idstr;
    std::uint32_t number = 0;
    if (compat::split_state_key(line, idstr, number)) {
      if (idstr.size() + 4 > line.size() || line.compare(0, idstr.size(), idstr) != 0 || line.back() != ')')
        die("split_state_key: the idstr is not what precedes \" (N)\"");
    }
    at = nl + 1;
  }

  compat::StateDocument a{a_text, "A", {}}, b{b_text, "B", {}};
  compat::StateDiffOptions plain, with_globs;
  plain.skip_ram = with_globs.skip_ram = (pick & 1) != 0;
  with_globs.ignores = globs;

  auto d = compat::diff_states(a, b, plain);
  if (!d.ok()) {
    const Error& e = d.error();
    fuzz::check_error(e, size, {ErrorCode::invalid_json});
    // The offset is in the document named first in the message.
    const std::uint64_t doc_size = e.detail.rfind("B:", 0) == 0 ? b_text.size() : a_text.size();
    if (e.has_offset() && e.offset > doc_size) fuzz::fail("error offset beyond its document", e);
    return 0;
  }
  if (d->ignored != 0) die("differences ignored without a glob");
  if (d->matched > d->sections_a || d->matched > d->sections_b) die("more sections matched than there are");

  auto g = compat::diff_states(a, b, with_globs);
  if (!g.ok()) fuzz::fail("the globs made a diff fail", g.error());
  std::size_t k = 0;
  std::uint64_t dropped = 0;
  for (const diff::Difference& x : d->differences) {
    if (compat::path_ignored(x.path, globs)) {
      ++dropped;
      continue;
    }
    if (k >= g->differences.size() || !same(x, g->differences[k])) die("the globs kept other differences than path_ignored says");
    ++k;
  }
  if (k != g->differences.size() || dropped != g->ignored) die("the globs dropped other differences than path_ignored says");
  if (g->sections_a != d->sections_a || g->sections_b != d->sections_b || g->matched != d->matched)
    die("the globs changed the sections matched");

  auto r = compat::diff_states(b, a, plain);
  if (!r.ok()) fuzz::fail("B against A fails where A against B does not", r.error());
  if (r->sections_a != d->sections_b || r->sections_b != d->sections_a || r->matched != d->matched)
    die("B against A matches other sections than A against B");
  auto self = compat::diff_states(a, a, plain);
  if (!self.ok()) fuzz::fail("A against itself fails", self.error());
  if (self->matched != self->sections_a || self->sections_a != d->sections_a) die("A against itself leaves sections unmatched");

  render_all(*g, first_line);
  return 0;
}
