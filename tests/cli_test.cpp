// The command-line tools: exit codes (README), one-line errors naming the
// offset, nothing complete-looking on stdout on error, stdin input, libvirt
// images, and the analyze-migration drop-in's flags.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "test_paths.h"

namespace migscope::test {
namespace {

namespace fs = std::filesystem;

std::string quote(const std::string& s) { return "'" + s + "'"; }

struct CommandRun {
  int status;
  std::string out;
  std::string err;
};

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("migscope-cli-test-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  CommandRun run(const std::string& args, const std::string& tool = "migscope") {
    const std::string err_path = (dir_ / "stderr").string();
    CommandRun r;
    r.status = run_command(quote(tool_path(tool)) + " " + args + " 2>" + quote(err_path), &r.out);
    r.err = read_file(err_path);
    return r;
  }
  std::string write(const std::string& name, const std::string& data) {
    std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << data;
    return p;
  }
  /// A real stream from the corpus, or "" (the test then skips).
  static std::string corpus_stream(const std::string& name = "x86_64-q35-7.2") {
    std::string p = binary_dir() + "/corpus/streams/" + name + ".mig";
    return fs::is_regular_file(p) ? p : std::string();
  }

  fs::path dir_;
};

int count_lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

bool is_valid_json(const std::string& s) {
  rapidjson::Document d;
  d.Parse(s.c_str(), s.size());
  return !d.HasParseError();
}

// --- usage -----------------------------------------------------------------

TEST_F(Cli, UsageErrorsExit2) {
  for (const char* args : {"", "bogus", "state", "info", "desc", "state --no-such-option x", "info a b"}) {
    SCOPED_TRACE(args);
    CommandRun r = run(args);
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_FALSE(r.err.empty());
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

TEST_F(Cli, HelpExits0OnStdout) {
  CommandRun r = run("--help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("state"), std::string::npos);
  CommandRun s = run("state --help");
  EXPECT_EQ(s.status, 0);
  EXPECT_NE(s.out.find("--vmdesc"), std::string::npos);
}

TEST_F(Cli, BadPageSizeIsAUsageError) {
  std::string p = corpus_stream();
  if (p.empty()) GTEST_SKIP() << "corpus not built";
  CommandRun r = run("state --page-size 3000 " + quote(p));
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(r.out.empty());
}

// --- not a stream ------------------------------------------------------------

void expect_one_line_error(const CommandRun& r, const std::string& needle) {
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out.substr(0, 200);
}

TEST_F(Cli, ElfFileIsNotAStream) {
  std::string elf = std::string("\x7f" "ELF\x02\x01\x01", 7) + std::string(57, '\0');
  std::string p = write("core.elf", elf);
  for (const char* sub : {"info", "state", "desc"}) {
    SCOPED_TRACE(sub);
    CommandRun r = run(std::string(sub) + " " + quote(p));
    EXPECT_EQ(r.status, 3) << r.err;
    expect_one_line_error(r, "ELF");
    EXPECT_NE(r.err.find("at 0x0"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(p), std::string::npos) << r.err;
  }
}

TEST_F(Cli, EmptyFileIsNotAStream) {
  std::string p = write("empty", "");
  CommandRun r = run("state " + quote(p));
  EXPECT_EQ(r.status, 3) << r.err;
  expect_one_line_error(r, "empty");
}

TEST_F(Cli, WrongMagicIsNotAStream) {
  std::string p = write("text", "hello world, not a stream\n");
  CommandRun r = run("info " + quote(p));
  EXPECT_EQ(r.status, 3) << r.err;
  expect_one_line_error(r, "magic");
}

TEST_F(Cli, MissingFileIsAnIoError) {
  CommandRun r = run("state " + quote((dir_ / "nope.mig").string()));
  EXPECT_EQ(r.status, 7) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST_F(Cli, ObsoleteVersion2IsUnsupported) {
  std::string p = write("v2", std::string("QEVM\0\0\0\x02\0", 9));
  CommandRun r = run("state " + quote(p));
  EXPECT_EQ(r.status, 4) << r.err;
  expect_one_line_error(r, "at 0x4");
}

// --- corrupt / truncated -----------------------------------------------------

std::uint64_t eof_offset(const std::string& info_json) {
  rapidjson::Document d;
  d.Parse(info_json.c_str(), info_json.size());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("eof_offset") || !d["eof_offset"].IsUint64()) return 0;
  return d["eof_offset"].GetUint64();
}

TEST_F(Cli, TruncatedCorpusStreamExits5WithOffset) {
  std::string p = corpus_stream();
  if (p.empty()) GTEST_SKIP() << "corpus not built";
  CommandRun info = run("info --json " + quote(p));
  ASSERT_EQ(info.status, 0) << info.err;
  const std::uint64_t eof = eof_offset(info.out);
  ASSERT_GT(eof, 1000u);
  // Cut inside the last device sections: no EOF byte, no trailer.
  const std::string whole = read_file(p);
  std::string cut = write("cut.mig", whole.substr(0, eof - 100));
  for (const char* sub : {"info", "state", "info --json"}) {
    SCOPED_TRACE(sub);
    CommandRun r = run(std::string(sub) + " " + quote(cut));
    EXPECT_EQ(r.status, 5) << r.err;
    // The error is one line; `state` may add one "note:" line about the missing vmdesc first.
    const int notes = r.err.find(": note: ") != std::string::npos ? 1 : 0;
    EXPECT_EQ(count_lines(r.err) - notes, 1) << r.err;
    EXPECT_NE(r.err.find("at 0x"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
    // Never half a document: nothing (info), or (state) what was read closed
    // with a record of where it stopped.
    if (std::string(sub) == "state") {
      EXPECT_TRUE(is_valid_json(r.out)) << r.out.substr(0, 200);
      EXPECT_NE(r.out.find("\"migscope error\": {"), std::string::npos);
      EXPECT_NE(r.out.find("\"code\": \"truncated\""), std::string::npos);
    } else {
      EXPECT_TRUE(r.out.empty()) << r.out.substr(0, 200);
    }
  }
  // The drop-in, like upstream, prints nothing on stdout.
  CommandRun drop_in = run("-f " + quote(cut), "analyze-migration");
  EXPECT_EQ(drop_in.status, 1) << drop_in.err;
  EXPECT_TRUE(drop_in.out.empty()) << drop_in.out.substr(0, 200);
}

// A stream cut inside its vmdesc trailer: the device state cannot be decoded.
// Today the walk warns (offset named) and succeeds with raw device sections.
TEST_F(Cli, StreamCutInsideItsTrailerIsReported) {
  std::string p = corpus_stream();
  if (p.empty()) GTEST_SKIP() << "corpus not built";
  const std::string whole = read_file(p);
  std::string cut = write("cut-trailer.mig", whole.substr(0, whole.size() - 1000));
  CommandRun r = run("state " + quote(cut));
  EXPECT_NE(r.err.find("VMDESCRIPTION"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("at 0x"), std::string::npos) << r.err;
  CommandRun desc = run("desc " + quote(cut));
  EXPECT_NE(desc.status, 0);
  EXPECT_TRUE(desc.out.empty());
}

TEST_F(Cli, CorruptSectionTypeExits5) {
  std::string stream = std::string("QEVM\0\0\0\x03", 8) + "\x07" + std::string("\0\0\0\x02", 4) + "pc" + "\x09";
  std::string p = write("bad-type.mig", stream);
  CommandRun r = run("info " + quote(p));
  EXPECT_EQ(r.status, 5) << r.err;
  expect_one_line_error(r, "at 0xf:");
  EXPECT_NE(r.err.find("0x09"), std::string::npos) << r.err;
}

TEST_F(Cli, DescWithoutTrailerIsUnsupported) {
  std::string p = corpus_stream("x86_64-q35-7.2-no-vmdesc");
  if (p.empty()) GTEST_SKIP() << "corpus not built";
  CommandRun r = run("desc " + quote(p));
  EXPECT_EQ(r.status, 4) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_TRUE(r.out.empty());
}

// --- inputs ------------------------------------------------------------------

TEST_F(Cli, StandardInputGivesTheSameOutput) {
  std::string p = corpus_stream();
  if (p.empty()) GTEST_SKIP() << "corpus not built";
  CommandRun direct = run("state " + quote(p));
  ASSERT_EQ(direct.status, 0) << direct.err;
  CommandRun piped = run("state - < " + quote(p));
  EXPECT_EQ(piped.status, 0) << piped.err;
  EXPECT_TRUE(piped.out == direct.out);
  CommandRun cat = run("desc - < " + quote(p));
  EXPECT_EQ(cat.status, 0) << cat.err;
  EXPECT_TRUE(is_valid_json(cat.out));
}

TEST_F(Cli, LibvirtSaveImageIsReadThrough) {
  std::string p = corpus_stream();
  if (p.empty()) GTEST_SKIP() << "corpus not built";
  const std::string xml = "<domain type='kvm'><name>guest</name></domain>\n";
  std::string header(92, '\0');
  std::memcpy(header.data(), "LibvirtQemudSave", 16);
  const std::uint32_t fields[5] = {2, static_cast<std::uint32_t>(xml.size()), 0, 0, 0};  // host order, like libvirt
  std::memcpy(header.data() + 16, fields, sizeof fields);
  std::string image = write("guest.save", header + xml + read_file(p));
  CommandRun direct = run("state " + quote(p));
  CommandRun wrapped = run("state " + quote(image));
  ASSERT_EQ(direct.status, 0) << direct.err;
  EXPECT_EQ(wrapped.status, 0) << wrapped.err;
  EXPECT_TRUE(wrapped.out == direct.out);
  CommandRun info = run("info --json " + quote(image));
  EXPECT_EQ(info.status, 0) << info.err;
  EXPECT_NE(info.out.find("\"stream_offset\": " + std::to_string(92 + xml.size())), std::string::npos);
  // A gzip image (compressed by the real gzip) reads as the stream inside it.
  std::uint32_t gz[5] = {2, static_cast<std::uint32_t>(xml.size()), 0, 1, 0};
  std::memcpy(header.data() + 16, gz, sizeof gz);
  const std::string payload = write("stream.gz", "");
  ASSERT_EQ(std::system(("gzip -c " + quote(p) + " > " + quote(payload)).c_str()), 0);
  std::string gzipped = write("guest-gz.save", header + xml + read_file(payload));
  CommandRun g = run("state " + quote(gzipped));
  EXPECT_EQ(g.status, 0) << g.err;
  EXPECT_TRUE(g.out == direct.out);
  // Damaged compressed data is corrupt input, naming the compression.
  std::string compressed = write("guest-bad.save", header + xml + "\x1f\x8b garbage");
  CommandRun c = run("state " + quote(compressed));
  EXPECT_EQ(c.status, 5) << c.err;
  EXPECT_NE(c.err.find("gzip"), std::string::npos) << c.err;
  // A save that never finished, cut before its stream: truncated (exit 5), named.
  std::memcpy(header.data(), "LibvirtQemudPart", 16);
  std::string partial = write("guest-part.save", header + xml);
  CommandRun part = run("state " + quote(partial));
  EXPECT_EQ(part.status, 5) << part.err;
  EXPECT_NE(part.err.find("incomplete libvirt save image"), std::string::npos) << part.err;
  EXPECT_NE(part.err.find("no byte of the stream was written"), std::string::npos) << part.err;
  EXPECT_EQ(count_lines(part.err), 1) << part.err;
}

// A real stream in a save that never finished ('LibvirtQemudPart', as libvirt
// leaves it), cut short: every command names it in one line and exits 5;
// info and state with --keep-going show what it holds first.
TEST_F(Cli, AnIncompleteSaveIsNamedAndKeepGoingShowsWhatItHolds) {
  std::string p = corpus_stream();
  if (p.empty()) GTEST_SKIP() << "corpus not built";
  const std::string xml = "<domain type='kvm'><name>guest</name></domain>\n";
  std::string header(92, '\0');
  std::memcpy(header.data(), "LibvirtQemudPart", 16);
  const std::uint32_t fields[5] = {2, static_cast<std::uint32_t>(xml.size()), 0, 0, 0};
  std::memcpy(header.data() + 16, fields, sizeof fields);
  const std::string stream = read_file(p);
  const std::string image = write("part.save", header + xml + stream.substr(0, stream.size() * 3 / 5));
  for (const char* cmd : {"info", "state", "hash", "desc", "cat"}) {
    CommandRun r = run(std::string(cmd) + " " + quote(image));
    EXPECT_EQ(r.status, 5) << cmd << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << cmd;
    EXPECT_EQ(count_lines(r.err), 1) << cmd << ": " << r.err;
    EXPECT_NE(r.err.find("truncated: incomplete libvirt save image (magic 'LibvirtQemudPart': the save never finished)"),
              std::string::npos) << cmd << ": " << r.err;
    const bool offers = std::string(cmd) == "info" || std::string(cmd) == "state";
    EXPECT_EQ(r.err.find("(use --keep-going to show what it holds)") != std::string::npos, offers) << cmd << ": " << r.err;
  }
  CommandRun info = run("info --keep-going " + quote(image));
  EXPECT_EQ(info.status, 5) << info.err;
  EXPECT_NE(info.out.find("sections:"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("was paused, INCOMPLETE (magic 'LibvirtQemudPart': the save never finished)\n"), std::string::npos)
      << info.out;
  EXPECT_EQ(count_lines(info.err), 1) << info.err;
  EXPECT_NE(info.err.find("its stream stops here"), std::string::npos) << info.err;
  EXPECT_EQ(info.err.find("--keep-going"), std::string::npos) << info.err;
  CommandRun json = run("info --json --keep-going " + quote(image));
  EXPECT_EQ(json.status, 5);
  EXPECT_TRUE(is_valid_json(json.out));
  EXPECT_NE(json.out.find("incomplete libvirt save image"), std::string::npos);
  EXPECT_NE(json.out.find("\"complete\": false"), std::string::npos);
  CommandRun state = run("state --keep-going " + quote(image));
  EXPECT_EQ(state.status, 5) << state.err;
  EXPECT_TRUE(is_valid_json(state.out));
  EXPECT_NE(state.out.find("\"migscope error\""), std::string::npos);
  EXPECT_NE(state.out.find("incomplete libvirt save image"), std::string::npos);
  // The drop-in has no --keep-going: no hint naming it.
  CommandRun drop = run("-f " + quote(image), "analyze-migration");
  EXPECT_EQ(drop.status, 1);
  EXPECT_NE(drop.err.find("incomplete libvirt save image"), std::string::npos) << drop.err;
  EXPECT_EQ(drop.err.find("--keep-going"), std::string::npos) << drop.err;
}

// --- analyze-migration drop-in ------------------------------------------------

TEST_F(Cli, DropInMissingFileArgumentIsAnArgparseUsageError) {
  CommandRun r = run("", "analyze-migration");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err.rfind("usage: analyze-migration [-h] -f FILE [-m] [-d DUMP] [-x]\n", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("error: the following arguments are required: -f/--file"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
  CommandRun dangling = run("-f", "analyze-migration");
  EXPECT_EQ(dangling.status, 2);
  EXPECT_NE(dangling.err.find("argument -f/--file: expected one argument"), std::string::npos) << dangling.err;
  CommandRun extra = run("-f x --bogus", "analyze-migration");
  EXPECT_EQ(extra.status, 2);
  EXPECT_NE(extra.err.find("unrecognized arguments: --bogus"), std::string::npos) << extra.err;
}

TEST_F(Cli, DropInBadDumpValueExits1WithUpstreamsMessage) {
  std::string p = corpus_stream();
  if (p.empty()) GTEST_SKIP() << "corpus not built";
  CommandRun r = run("-f " + quote(p) + " -d bogus", "analyze-migration");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("Please specify either -x, -d state or -d desc"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST_F(Cli, DropInFlagSpellingsAreEquivalent) {
  std::string p = corpus_stream();
  if (p.empty()) GTEST_SKIP() << "corpus not built";
  CommandRun reference = run("state " + quote(p));
  ASSERT_EQ(reference.status, 0) << reference.err;
  for (const std::string& args : {"-f " + quote(p), "-f " + quote(p) + " -d state", "--file " + quote(p) + " --dump state",
                                  "--file=" + quote(p) + " --dump=state", "-d state -f" + quote(p)}) {
    SCOPED_TRACE(args);
    CommandRun r = run(args, "analyze-migration");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(r.out == reference.out);
  }
  CommandRun desc = run("desc " + quote(p));
  ASSERT_EQ(desc.status, 0);
  for (const std::string& args : {"-f " + quote(p) + " -d desc", "--dump=desc --file=" + quote(p), "-ddesc -f " + quote(p)}) {
    SCOPED_TRACE(args);
    CommandRun r = run(args, "analyze-migration");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(r.out == desc.out);
  }
}

TEST_F(Cli, DropInErrorsExit1AndAreOneLine) {
  std::string p = write("core.elf", std::string("\x7f" "ELF", 4) + std::string(60, '\0'));
  CommandRun r = run("-f " + quote(p), "analyze-migration");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_TRUE(r.out.empty());
}

}  // namespace
}  // namespace migscope::test

namespace migscope::test {
namespace {

TEST_F(Cli, AStreamCutInsideItsTrailerIsNeverSuccess) {
  std::string p = corpus_stream();
  if (p.empty()) GTEST_SKIP() << "corpus not built";
  const std::string whole = read_file(p);
  for (std::size_t cut : {std::size_t{200}, std::size_t{1}, whole.size() / 20}) {
    const std::string f = write("cut.mig", whole.substr(0, whole.size() - cut));
    for (const char* cmd : {"state", "info", "hash", "extract -o out", "desc", "check"}) {
      const std::string args = std::string(cmd) == "check" ? quote(f) + " " + quote(f) : quote(f);
      CommandRun r = run(std::string(cmd) + " " + args);
      EXPECT_EQ(r.status, 5) << cmd << " cut " << cut << ": " << r.err;
      EXPECT_EQ(count_lines(r.err), 1) << cmd << " cut " << cut << ": " << r.err;
      EXPECT_NE(r.err.find("at 0x"), std::string::npos) << cmd << " cut " << cut << ": " << r.err;
    }
  }
}

TEST_F(Cli, AnEmptyDocumentIsNotADumpVmstateFile) {
  const std::string e = write("empty.json", "{}");
  CommandRun c = run("check " + quote(e) + " " + quote(e));
  EXPECT_EQ(c.status, 5) << c.err;
  EXPECT_NE(c.err.find("not a -dump-vmstate document"), std::string::npos) << c.err;
  CommandRun d = run("-s " + quote(e) + " -d " + quote(e), "vmstate-static-checker");
  EXPECT_NE(d.status, 0) << d.err;
}

// A real -dump-vmstate document with one entry QEMU always writes taken out.
std::string without(const std::string& path, const char* section, const char* key) {
  rapidjson::Document d;
  const std::string text = read_file(path);
  d.Parse(text.c_str(), text.size());
  EXPECT_FALSE(d.HasParseError()) << path;
  if (d.HasParseError()) return text;
  if (key == nullptr)
    d.RemoveMember(section);
  else
    EXPECT_TRUE(d[section].RemoveMember(key)) << section << "." << key;
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> w(out);
  d.Accept(w);
  return out.GetString();
}

TEST_F(Cli, CheckRefusesADocumentQemuCouldNotHaveWrittenUnlessLenient) {
  const std::string ref = corpus_dir() + "/vmstate/reference/x86_64-pc-q35-7.2.json";
  const std::string no_desc = write("no-desc.json", without(ref, "fw_cfg", "Description"));
  const std::string no_machine = write("no-machine.json", without(ref, "vmschkmachine", nullptr));
  CommandRun c = run("check " + quote(no_desc) + " " + quote(ref));
  EXPECT_EQ(c.status, 5) << c.err;
  EXPECT_EQ(count_lines(c.err), 1) << c.err;
  EXPECT_NE(c.err.find("no-desc.json: invalid JSON: $.fw_cfg: missing key \"Description\""), std::string::npos) << c.err;
  EXPECT_TRUE(c.out.empty()) << c.out;
  c = run("check " + quote(ref) + " " + quote(no_machine));
  EXPECT_EQ(c.status, 5) << c.err;
  EXPECT_NE(c.err.find("no-machine.json: invalid JSON: $: no \"vmschkmachine\" entry"), std::string::npos) << c.err;
  // Lenient, the missing entry is a finding, as upstream's checker reports it.
  c = run("check --lenient " + quote(ref) + " " + quote(no_desc));
  EXPECT_EQ(c.status, 1) << c.err;
  EXPECT_NE(c.out.find("Section \"fw_cfg\": Entry \"Description\" missing"), std::string::npos) << c.out;
  EXPECT_EQ(run("check --lenient " + quote(no_machine) + " " + quote(ref)).status, 0);
  // The drop-in checks such a document as the script does: one problem.
  CommandRun d = run("-s " + quote(ref) + " -d " + quote(no_desc), "vmstate-static-checker");
  EXPECT_EQ(d.status, 1) << d.err;
  EXPECT_EQ(d.out, "Section \"fw_cfg\": Entry \"Description\" missing\n");
  // The real document itself is QEMU's: strict reading takes it.
  EXPECT_EQ(run("check " + quote(ref) + " " + quote(ref)).status, 0);
}

TEST_F(Cli, StrictRefusesEveryRecoveryOfARealStream) {
  // QEMU 7.2's s390x stream has a section its own description mis-describes;
  // the 2.0 machine type writes no footers and no trailer, so section ends
  // are guessed. Both are read with a warning, and refused under --strict.
  for (const char* name : {"s390x-s390-ccw-virtio-7.2", "x86_64-pc-i440fx-2.0"}) {
    const std::string p = corpus_stream(name);
    if (p.empty()) GTEST_SKIP() << "corpus not built";
    struct Command {
      const char* verb;
      const char* output;  // under the test directory, or nullptr
    };
    for (const Command c : {Command{"info", nullptr}, Command{"state", nullptr}, Command{"hash", nullptr},
                            Command{"extract", "x"}, Command{"vmcore", "core"}, Command{"report", "r"}}) {
      const std::string args =
          std::string(c.verb) + (c.output ? " -o " + quote((dir_ / c.output).string()) : std::string()) + " " + quote(p);
      CommandRun recovered = run(args);
      // vmcore of a stream whose RAM layout is unknown may fail for its own
      // reason; what matters is that --strict turns a success into exit 5.
      if (recovered.status != 0) {
        EXPECT_NE(recovered.status, 5) << name << " " << c.verb << ": " << recovered.err;
        continue;
      }
      if (c.output) fs::remove_all(dir_ / c.output);
      CommandRun strict = run(args + " --strict");
      EXPECT_EQ(strict.status, 5) << name << " " << c.verb << ": " << strict.err;
      EXPECT_EQ(count_lines(strict.err), 1) << strict.err;
      EXPECT_NE(strict.err.find("a strict reading refuses what it would recover"), std::string::npos) << strict.err;
      EXPECT_NE(strict.err.find("at 0x"), std::string::npos) << strict.err;
      if (c.output) {
        EXPECT_FALSE(fs::exists(dir_ / c.output)) << name << " " << c.verb;
      }
    }
  }
  const std::string q35 = corpus_stream();
  if (q35.empty()) GTEST_SKIP() << "corpus not built";
  EXPECT_EQ(run("state --strict " + quote(q35)).status, 0);
  EXPECT_EQ(run("hash --strict " + quote(q35)).status, 0);
}

// --- vmcore ------------------------------------------------------------------

TEST_F(Cli, VmcoreWritesACoreAndKeepsWhatExists) {
  std::string p = corpus_stream();
  if (p.empty()) GTEST_SKIP() << "corpus not built";
  const std::string out = (dir_ / "guest.core").string();
  CommandRun r = run("vmcore " + quote(p) + " -o " + quote(out));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("ELF64 core, EM_386, 1 CPU(s) with notes, 5 PT_LOAD"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0x00000000000c0000 0x00000000000dffff 0x20000        pc.rom +0x0"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("note: block '/rom@etc/acpi/tables' (0x20000 bytes) is not in the map: fw_cfg file"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(out).substr(0, 4), "\x7f" "ELF");
  // Again without --force: refused (exit 6), the core untouched; with --force replaced.
  const std::string before = read_file(out);
  r = run("vmcore " + quote(p) + " -o " + quote(out));
  EXPECT_EQ(r.status, 6) << r.err;
  EXPECT_EQ(read_file(out), before);
  r = run("vmcore " + quote(p) + " -o " + quote(out) + " --force --format raw");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(fs::file_size(out), 0x100000000u);  // the BIOS ends at 4 GiB
}

TEST_F(Cli, VmcoreUsageAndDamage) {
  std::string p = corpus_stream();
  if (p.empty()) GTEST_SKIP() << "corpus not built";
  const std::string out = (dir_ / "x.core").string();
  for (const char* bad : {" --format pdf", " --below-4g lots", " --place nowhere", ""}) {
    SCOPED_TRACE(bad);
    CommandRun r = run("vmcore " + quote(p) + (*bad ? " -o " + quote(out) + bad : std::string()));
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
  }
  // A cut stream: exit 5 with the offset, and no output left.
  const std::string whole = read_file(p);
  const std::string cut = write("cut.mig", whole.substr(0, whole.size() / 3));
  CommandRun r = run("vmcore " + quote(cut) + " -o " + quote(out));
  EXPECT_EQ(r.status, 5) << r.err;
  EXPECT_NE(r.err.find("at 0x"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_TRUE(e.path().filename() == "cut.mig" || e.path().filename() == "stderr") << e.path();
  // A machine with no known layout: exit 4 naming it; an explicit placement gets past it.
  r = run("vmcore " + quote(p) + " -o " + quote(out) + " --machine sbsa-ref");
  EXPECT_EQ(r.status, 4) << r.err;
  EXPECT_NE(r.err.find("'sbsa-ref' has no known guest-physical layout"), std::string::npos) << r.err;
  r = run("vmcore " + quote(p) + " -o " + quote(out) + " --machine sbsa-ref --place pc.ram@0x10000000000");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("0x0000010000000000 0x0000010000ffffff 0x1000000      pc.ram +0x0"), std::string::npos) << r.out;
}


// --- diff and check --against -------------------------------------------------

TEST_F(Cli, DiffExitsLikeDiff1) {
  const std::string a = binary_dir() + "/corpus/diff/running-1.mig", b = binary_dir() + "/corpus/diff/running-2.mig";
  if (!fs::is_regular_file(a)) GTEST_SKIP() << "corpus not built";
  CommandRun r = run("diff " + quote(a) + " " + quote(a));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(count_lines(r.out), 1) << r.out;
  r = run("diff " + quote(a) + " " + quote(b));
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.out.find("ram: pc.ram 0x100000-0x12ffff: 48 pages differ"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cpu (5)/env.regs[3]: "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("timer (0)/"), std::string::npos) << r.out;  // a default ignore
  r = run("diff " + quote(a) + " " + quote(b) + " --no-default-ignores --ignore 'cpu (*)' --ignore 'mc146818rtc (*)'");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("timer (0)/cpu_ticks_offset"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("cpu (5)/"), std::string::npos) << r.out;
  // jsonl with --pages: one line per differing page, each an object with a kind.
  r = run("diff " + quote(a) + " " + quote(b) + " --format jsonl --pages");
  EXPECT_EQ(r.status, 1);
  int pages = 0;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    ASSERT_TRUE(is_valid_json(line)) << line;
    if (line.find("\"kind\":\"ram-page\",\"block\":\"pc.ram\",\"offset\":") != std::string::npos) ++pages;
  }
  EXPECT_EQ(pages, 52);
  EXPECT_NE(r.err.find("migscope diff: "), std::string::npos);  // the summary on stderr
  // A dump against its own state JSON.
  r = run("state " + quote(a) + " > " + quote((dir_ / "a.json").string()));
  ASSERT_EQ(r.status, 0);
  r = run("diff " + quote((dir_ / "a.json").string()) + " " + quote(a));
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("RAM not compared (a state document holds no RAM)"), std::string::npos) << r.out;
}

TEST_F(Cli, DiffErrorsNameTheInputAndExitAtLeast2) {
  const std::string a = binary_dir() + "/corpus/diff/running-1.mig";
  if (!fs::is_regular_file(a)) GTEST_SKIP() << "corpus not built";
  CommandRun r = run("diff " + quote(a));
  EXPECT_EQ(r.status, 2);
  r = run("diff " + quote(a) + " " + quote(a) + " " + quote(a));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("takes two inputs"), std::string::npos) << r.err;
  r = run("diff " + quote(a) + " " + quote(a) + " --format yaml");
  EXPECT_EQ(r.status, 2);
  r = run("diff " + quote(a) + " /nonexistent/b.mig");
  EXPECT_EQ(r.status, 7) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/b.mig"), std::string::npos) << r.err;
  const std::string whole = read_file(a);
  const std::string cut = write("cut.mig", whole.substr(0, whole.size() / 2));
  r = run("diff " + quote(a) + " " + quote(cut));
  EXPECT_EQ(r.status, 5) << r.err;
  EXPECT_NE(r.err.find(cut), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("at 0x"), std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  const std::string bad = write("bad.json", "{\"cpu (1)\": [");
  r = run("diff " + quote(bad) + " " + quote(a));
  EXPECT_EQ(r.status, 5) << r.err;
  EXPECT_NE(r.err.find("bad.json"), std::string::npos) << r.err;
}

TEST_F(Cli, CheckAgainstGivesAVerdictAndExits0OnlyForALoadableDump) {
  const std::string loads = binary_dir() + "/corpus/loads/dests/";
  const std::string src = corpus_stream(), smp4 = corpus_stream("x86_64-q35-7.2-smp4");
  if (src.empty() || !fs::is_regular_file(loads + "q35-7.2.mig")) GTEST_SKIP() << "corpus not built";
  const std::string against = " --against " + quote(loads + "q35-7.2.mig") + " --against " + quote(loads + "pc-q35-7.2.vmstate.json");
  CommandRun r = run("check " + quote(src) + against);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("verdict: would load\n"), std::string::npos) << r.out;
  r = run("check " + quote(smp4) + against);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("Unknown savevm section or instance 'cpu_common' 1."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("verdict: would fail to load: "), std::string::npos) << r.out;
  // Against a -dump-vmstate of another machine version: refused with QEMU's words.
  r = run("check " + quote(src) + " --against " + quote(loads + "pc-q35-7.1.vmstate.json") + " --format json");
  EXPECT_EQ(r.status, 1);
  ASSERT_TRUE(is_valid_json(r.out)) << r.out;
  EXPECT_NE(r.out.find("\"qemu_error\": \"Machine type received is 'pc-q35-7.2' and local is 'pc-q35-7.1'\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"undecided\": ["), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("verdict: would fail to load: 1 reason"), std::string::npos) << r.err;
  // Usage: --against takes DEST's place; a missing destination is named.
  r = run("check " + quote(src) + " " + quote(src) + against);
  EXPECT_EQ(r.status, 2);
  r = run("check " + quote(src) + " --against /nonexistent/dest.mig");
  EXPECT_EQ(r.status, 7) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/dest.mig"), std::string::npos) << r.err;
}


// --- progress -------------------------------------------------------------

TEST_F(Cli, ProgressOnlyOnATerminalAndNeverWithQuiet) {
  const std::string p = corpus_stream("ppc64-pseries-7.2");
  if (p.empty()) GTEST_SKIP() << "corpus not built";
  if (std::system("command -v script >/dev/null 2>&1") != 0) GTEST_SKIP() << "no script(1) for a pseudo-terminal";
  const std::string log = (dir_ / "typescript").string();
  auto under_pty = [&](const std::string& args) {
    const std::string cmd = quote(tool_path("migscope")) + " " + args + " > /dev/null";
    std::string ignored;
    run_command("script -qec " + quote(cmd) + " " + quote(log) + " > /dev/null 2>&1", &ignored);
    return read_file(log);
  };
  // On a terminal: frames with the percent of the input, the last one erased.
  std::string tty = under_pty("hash " + quote(p));
  EXPECT_NE(tty.find("migscope hash: "), std::string::npos) << tty;
  EXPECT_NE(tty.find("% "), std::string::npos) << tty;
  EXPECT_NE(tty.find(" of 3.70 MiB"), std::string::npos) << tty;
  EXPECT_NE(tty.rfind("\r\033[K"), std::string::npos);
  // --quiet: nothing.
  tty = under_pty("hash --quiet " + quote(p));
  EXPECT_EQ(tty.find("migscope hash: "), std::string::npos) << tty;
  // Not a terminal: nothing on stderr; --progress forces it there, never on stdout.
  CommandRun r = run("hash " + quote(p));
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(r.err.empty()) << r.err;
  r = run("hash --progress " + quote(p));
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.err.find("migscope hash: "), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("migscope hash: "), std::string::npos);
  EXPECT_EQ(r.out.find('\r'), std::string::npos);
  // A compressed input counts its compressed bytes.
  const std::string save = binary_dir() + "/corpus/wrapped/pc-xz.save";
  if (fs::is_regular_file(save)) {
    r = run("info --progress " + quote(save));
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find(" of "), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace migscope::test
