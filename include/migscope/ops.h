// The operations: what the `migscope` subcommands and the drop-ins do, as
// library calls. Each takes an opened Dump (or the paths of JSON documents)
// and an options struct, writes its text into a caller-supplied TextOutput or
// its files into a directory, and returns values (migscope/records.h) or an
// Error. All orchestration lives here: passes over the stream, which consumers
// each pass feeds, thread counts. Nothing is printed.
//
// An incomplete libvirt save (LibvirtHeader::complete false: the save never
// finished) is ErrorCode::truncated for every operation: info reports it as
// its damage after reading what it holds, state reads it only with keep_going,
// the others refuse it before reading.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "migscope/compat.h"
#include "migscope/diff.h"
#include "migscope/error.h"
#include "migscope/guest.h"
#include "migscope/records.h"
#include "migscope/stream.h"

namespace migscope::ops {

/// Where an operation writes its text: a FILE* (buffered) or a string (appended to).
struct TextOutput {
  std::FILE* file = nullptr;
  std::string* text = nullptr;
  std::string name = "standard output";  ///< names the output in write errors

  static TextOutput to_file(std::FILE* f, std::string name = "standard output") { return {f, nullptr, std::move(name)}; }
  static TextOutput to_string(std::string& s) { return {nullptr, &s, "a string"}; }
};

/// Remove what unfinished outputs of extract, vmcore, report and cat have on
/// disk under a name (directories made for them, temporary files where the
/// file system has no unnamed ones), for a SIGINT or SIGTERM handler that
/// exits next: async-signal-safe.
void remove_partial_outputs() noexcept;

// ---- info: what the stream holds and where ---------------------------------

struct InfoOptions {
  std::optional<std::uint64_t> page_size;  ///< override the target page size
  /// Threads that map the input ahead of the walk (0: the walking thread does it).
  unsigned helper_threads = 0;
};

struct InfoReport {
  WalkSummary summary;          ///< of the whole stream, or of what was read before `damage`
  std::optional<Error> damage;  ///< where and why the walk stopped early, if it did
  std::vector<SectionRecord> sections;
  std::vector<CommandRecord> commands;
  std::vector<BlockPageStats> block_stats;  ///< indexed like summary.ram_blocks
  std::optional<GuestLayout> layout;        ///< the guest-physical map vmcore would use (an undamaged stream)
  std::string layout_error;                 ///< why there is none
};

/// Walk the stream once, recording every section, command and page record.
/// A damaged stream is not an error here: the report says where it stopped.
InfoReport info(const Dump& dump, const InfoOptions& options = {});

// ---- state: device state as upstream analyze-migration.py -d state prints it --

struct StateOptions {
  bool memory = false;      ///< add every RAM page's final content (upstream -m)
  bool keep_going = false;  ///< read an incomplete save too (damage always closes the JSON with a "migscope error" record)
  std::optional<std::uint64_t> page_size;
  unsigned helper_threads = 0;
};

/// Write the state JSON to `out`; returns the walk's summary (its warnings).
/// On damage the error is returned, and the JSON written so far was first
/// closed with a "migscope error" record (offset, code, message): stdout never
/// holds half a document.
Result<WalkSummary> state(const Dump& dump, const StateOptions& options, const TextOutput& out);

// ---- desc: the vmdesc as upstream -d desc prints it ---------------------------

/// Write the description JSON to `out` (ErrorCode::unsupported without one).
Status desc(const Dump& dump, const TextOutput& out);

// ---- hash: XXH3 of every sent page's final content ----------------------------

struct HashOptions {
  unsigned threads = 1;  ///< output never depends on it
  /// Bytes of blocks whose whole-block XXH3-128 may be streamed (zeros of
  /// unsent pages included); beyond it block_xxh128 is null, so declared
  /// lengths cannot make a small file take hours. Default: 64 GiB + 64 x the input.
  std::optional<std::uint64_t> whole_hash_budget;
};

struct HashReport {
  WalkSummary summary;
  std::vector<BlockHashSummary> blocks;
};

/// Write one JSON line per sent page ({"block","offset","xxh3"}, block then
/// offset order), then one summary line per block, to `out`.
Result<HashReport> hash(const Dump& dump, const HashOptions& options, const TextOutput& out);

// ---- extract: RAM blocks to sparse files, plus desc.json and state.json -------

struct ExtractOptions {
  std::string dir = ".";  ///< created if missing; names never escape it
  bool force = false;     ///< replace existing files
  unsigned threads = 1;
  std::optional<std::uint64_t> page_size;
};

struct ExtractReport {
  WalkSummary summary;
  std::vector<ExtractedBlock> blocks;
  bool wrote_desc = false;  ///< desc.json (only with a description)
};

/// Write every file under a temporary name and rename them into place only
/// when everything succeeded (on error nothing that looks complete is left).
Result<ExtractReport> extract(const Dump& dump, const ExtractOptions& options);

// ---- cat: the bare QEMU stream inside any input --------------------------------

struct CatOptions {
  std::string output;  ///< a file to write (created under a temporary name, renamed when complete); empty: `out`
  bool force = false;  ///< replace an existing output file
};

struct CatReport {
  std::uint64_t bytes = 0;          ///< of stream written
  std::size_t rebased_blocks = 0;   ///< mapped-ram blocks whose file offsets were rebased
  std::uint64_t rebased_by = 0;     ///< what was subtracted from them (the wrapper's header)
};

/// Write the QEMU stream as QEMU wrote it: a libvirt payload decompressed, a
/// qcow2 snapshot's VM state, a compressed dump. A stream of mapped-ram
/// blocks inside a wrapper (a sparse libvirt save) has file offsets that
/// count the wrapper's header: they are rebased, so the output is an
/// equivalent bare mapped-ram stream (zero runs stay holes in a file).
Result<CatReport> cat(const Dump& dump, const CatOptions& options, const TextOutput& out);

// ---- vmcore: guest-physical memory as an ELF core or a flat image -------------

enum class VmcoreFormat : std::uint8_t { elf, raw };

struct VmcoreOptions {
  std::string output;  ///< the file to write (under a temporary name, renamed when complete)
  VmcoreFormat format = VmcoreFormat::elf;
  bool force = false;  ///< replace an existing output file
  unsigned threads = 1;
  std::optional<std::uint64_t> page_size;
  LayoutOverrides layout;
};

struct VmcoreReport {
  WalkSummary summary;
  GuestLayout layout;
  std::uint64_t file_size = 0;   ///< apparent size of the output
  std::uint64_t data_bytes = 0;  ///< guest-physical bytes in the output (holes included)
  std::uint16_t elf_machine = 0;
  bool elf_class64 = true;
  std::size_t cpus = 0;          ///< CPUs with notes
  std::size_t notes = 0;         ///< ELF notes written
  std::vector<std::string> remarks;  ///< what was assumed or left out, one line each
};

/// Place every RAM block's final content at its guest-physical address (see
/// migscope/guest.h) and write an ELF core (PT_NOTE with the CPU notes, one
/// PT_LOAD per range; zero pages are holes) or a flat image (file offset =
/// guest-physical address). The ELF needs one pass; the flat image two (the
/// map is known only once the device state has been read).
Result<VmcoreReport> vmcore(const Dump& dump, const VmcoreOptions& options);

/// The guest-physical map alone (one read-once pass over the stream).
Result<GuestLayout> guest_layout(const Dump& dump, const LayoutOverrides& overrides = {},
                                 std::optional<std::uint64_t> page_size = std::nullopt);

// ---- check: the vmstate static checker ----------------------------------------

/// A document to check: a -dump-vmstate file, a vmdesc JSON file, or a
/// migration stream (its vmdesc trailer).
struct VmstateInput {
  compat::VmstateDump dump;
  bool from_stream = false;
};

/// The text of a document file, decompressed if it is gzip, bzip2, xz, lzop
/// or zstd data (at most 1 GiB).
Result<std::string> read_document(const std::string& path);
/// Read and validate `path`, recognising a stream by its first bytes. A
/// -dump-vmstate document must have every entry QEMU writes unless
/// `lenient` (compat::ParseLimits::lenient).
Result<VmstateInput> load_vmstate(const std::string& path, bool lenient = false);
/// Read and validate a -dump-vmstate document (nothing else: upstream's
/// checker input; upstream reads it `lenient`).
Result<compat::VmstateDump> load_vmstate_dump(const std::string& path, bool lenient);
/// Two documents read and validated as by two calls of load_vmstate (or of
/// load_vmstate_dump), the second on a thread of its own when both are large
/// enough for that to pay (both >= 64 KiB; a 790 KB one takes ~3 ms to parse).
/// The results are those of the calls, in order: report the first error first.
std::pair<Result<VmstateInput>, Result<VmstateInput>> load_vmstate_pair(const std::string& first,
                                                                       const std::string& second,
                                                                       bool lenient = false);
std::pair<Result<compat::VmstateDump>, Result<compat::VmstateDump>> load_vmstate_dump_pair(const std::string& first,
                                                                                         const std::string& second,
                                                                                         bool lenient);
/// load_vmstate_dump_pair for plain JSON text only (what upstream's script
/// reads; a compressed file is a JSON syntax error at byte 0): the drop-in's
/// loader, which spares it loading the decompression libraries.
std::pair<Result<compat::VmstateDump>, Result<compat::VmstateDump>> load_plain_vmstate_dump_pair(
    const std::string& first, const std::string& second, bool lenient);
/// The built-in rename table, or none.
Result<compat::RenameTable> builtin_renames(bool use_builtin);
/// Add the renames of `path` to `table`.
Status load_renames(const std::string& path, compat::RenameTable& table);
Result<compat::Baseline> load_baseline(const std::string& path);

/// What the stream of `dump` holds, for a load check (compat::check_load):
/// one read-once walk. An incomplete or damaged stream is an error.
Result<compat::LoadFacts> load_facts(const Dump& dump);

struct CheckOptions {
  bool reverse = false;  ///< check migration from dest to src
};

/// Check migration from `src` to `dest`. ErrorCode::usage when one is a
/// -dump-vmstate document and the other a stream description.
Result<compat::CheckReport> check(const VmstateInput& src, const VmstateInput& dest,
                                  const compat::RenameTable& renames, const CheckOptions& options = {});

// ---- diff: two dumps (or a dump and a state document) compared ------------------

/// One side of a diff: an opened dump, or the text of a state JSON document
/// (what `state` writes: device state only, no RAM).
struct DiffInput {
  const Dump* dump = nullptr;
  std::string state_json;
  std::string name;  ///< as given (it names the side in the report)
};

struct DiffOptions {
  std::vector<std::string> ignores;  ///< path globs of fields not to compare
  bool default_ignores = true;       ///< add diff::default_ignores()
  bool pages = false;                ///< list every differing page
  unsigned threads = 1;              ///< per side; output never depends on it
  bool parallel = true;              ///< read the two dumps at the same time
};

/// Whether `path` holds a JSON document (its first non-blank byte is '{').
bool looks_like_state_json(const std::string& path);

/// Compare A and B. On error, `failed` (if given) receives the name of the
/// input that caused it.
Result<diff::DiffReport> diff(const DiffInput& a, const DiffInput& b, const DiffOptions& options,
                              std::string* failed = nullptr);

// ---- report: one self-contained HTML page about a dump ---------------------------

struct ReportOptions {
  std::string output;  ///< the HTML file (under a temporary name, renamed when complete)
  bool force = false;  ///< replace an existing output file
  std::optional<std::uint64_t> page_size;
  unsigned helper_threads = 0;
  std::string title;                  ///< names the input in the page (default: the dump's path)
  std::uint64_t max_cells = 4096;     ///< per RAM block picture (at least 1)
  std::size_t max_sections = 10000;   ///< rows of the section table (the totals count them all)
};

struct HtmlReport {
  WalkSummary summary;
  std::vector<BlockPageMap> blocks;  ///< indexed like summary.ram_blocks
  std::size_t sections = 0;
  std::uint64_t html_bytes = 0;      ///< size of the file written
};

/// Walk the stream once (summary, sections, page maps, device state) and
/// write one HTML file with no external reference: inline CSS, a script that
/// draws the RAM blocks and the device state tree, the data compressed. A
/// damaged or incomplete stream is an error and leaves no file.
Result<HtmlReport> report(const Dump& dump, const ReportOptions& options);

}  // namespace migscope::ops
