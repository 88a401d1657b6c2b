// The stream walker over synthetic streams: configuration, commands (incl.
// PACKAGED), sections and footers, RAM records, device decoding, the trailer.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "input/input.h"
#include "stream/format.h"
#include "migscope/stream.h"
#include "stream_builder.h"
#include "vmdesc/vmdesc.h"

namespace migscope {
namespace {

using test::StreamBuilder;

struct Recorder : StreamVisitor {
  struct Section {
    std::uint8_t type;
    std::string idstr;
    std::uint32_t id;
    SectionKind kind;
    std::uint64_t offset, body_offset, body_end, end;
    bool has_footer;
    unsigned depth;
    bool has_state;
    std::size_t body_size;
  };
  std::vector<Configuration> configs;
  std::vector<Command> commands;
  std::vector<Section> sections;
  std::vector<RamBlock> blocks;
  std::vector<PageRecord> pages;
  int block_announcements = 0;

  Status on_configuration(const Configuration& c) override {
    configs.push_back(c);
    return {};
  }
  Status on_command(const Command& c) override {
    commands.push_back(c);
    return {};
  }
  Status on_section(const SectionEvent& ev) override {
    sections.push_back({ev.type, std::string(ev.info->idstr), ev.info->id, ev.info->kind, ev.offset, ev.body_offset, ev.body_end,
                        ev.end, ev.has_footer, ev.depth, ev.state != nullptr, ev.body.size()});
    return {};
  }
  Status on_ram_blocks(const SectionInfo&, std::span<const RamBlock> b) override {
    blocks.assign(b.begin(), b.end());
    ++block_announcements;
    return {};
  }
  Status on_pages(std::span<const RamBlock>, std::span<const PageRecord> p) override {
    pages.insert(pages.end(), p.begin(), p.end());
    return {};
  }
};

Result<WalkSummary> walk(const StreamBuilder& b, Recorder& r, const Vmdesc* vmdesc = nullptr,
                         std::optional<std::uint64_t> page_size = std::nullopt) {
  auto loc = locate_stream(b.bytes());
  if (!loc.ok()) return std::move(loc).error();
  WalkOptions o;
  o.vmdesc = vmdesc;
  o.page_size = page_size;
  return walk_stream(b.bytes(), *loc, o, r);
}

bool contains(const std::string& s, std::string_view needle) { return s.find(needle) != std::string::npos; }

// Header, configuration and a RAM START section, like every real precopy
// stream: after it, the walker knows whether sections carry footers.
StreamBuilder prologue(bool footers = true) {
  StreamBuilder b;
  b.header().configuration("pc-q35-7.2");
  b.section_start(2, "ram", 0, 4).ram_mem_size({{"pc.ram", 0x4000}}).ram_eos();
  if (footers) b.footer(2);
  return b;
}

// ---------------------------------------------------------------------------
// configuration

TEST(Walker, MinimalStream) {
  StreamBuilder b;
  b.header().configuration("pc-q35-7.2");
  const std::uint64_t eof_at = b.offset();
  b.eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_TRUE(s->configuration.has_value());
  EXPECT_EQ(s->configuration->machine, "pc-q35-7.2");
  EXPECT_EQ(s->configuration->offset, 8u);
  EXPECT_TRUE(s->configuration->capabilities.empty());
  ASSERT_EQ(r.configs.size(), 1u);
  EXPECT_EQ(s->eof_offset.value_or(0), eof_at);
  EXPECT_FALSE(s->trailer_offset.has_value());
  EXPECT_EQ(s->end_offset, b.size());
  EXPECT_TRUE(s->warnings.empty());
  EXPECT_EQ(s->page_size, 4096u);
  EXPECT_STREQ(s->page_size_source, "default");
}

TEST(Walker, StreamWithoutConfiguration) {
  StreamBuilder b;
  b.header().section_full(1, "dev", 0, 1).u8(0x11).footer(1).eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_FALSE(s->configuration.has_value());
  ASSERT_EQ(r.sections.size(), 1u);
  EXPECT_EQ(r.sections[0].kind, SectionKind::opaque);
  EXPECT_EQ(r.sections[0].body_size, 1u);
}

StreamBuilder ignore_shared_stream(bool with_capability) {
  StreamBuilder b;
  b.header().configuration("pc-q35-7.2");
  if (with_capability) b.config_capabilities({"x-ignore-shared"});
  b.section_start(2, "ram", 0, 4)
      .ram_mem_size({{"pc.ram", 0x8000, 0x0}, {"/rom@etc/acpi/tables", 0x2000, 0xfffc0000}})
      .ram_eos()
      .footer(2);
  b.section_end(2).ram_zero(0x1000, "pc.ram").ram_eos().footer(2).eof();
  return b;
}

TEST(Walker, IgnoreSharedCapabilityReadsEachBlocksGuestAddress) {
  StreamBuilder b = ignore_shared_stream(true);
  Recorder r;
  auto s = walk(b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_TRUE(s->configuration.has_value());
  ASSERT_EQ(s->configuration->capabilities.size(), 1u);
  EXPECT_EQ(s->configuration->capabilities[0], "x-ignore-shared");
  EXPECT_TRUE(s->configuration->has_capability("x-ignore-shared"));
  ASSERT_EQ(s->ram_blocks.size(), 2u);
  EXPECT_EQ(s->ram_blocks[0].name, "pc.ram");
  EXPECT_EQ(s->ram_blocks[0].guest_addr.value_or(1), 0x0u);
  EXPECT_EQ(s->ram_blocks[1].name, "/rom@etc/acpi/tables");
  EXPECT_EQ(s->ram_blocks[1].length, 0x2000u);
  EXPECT_EQ(s->ram_blocks[1].guest_addr.value_or(0), 0xfffc0000u);
  ASSERT_EQ(r.pages.size(), 1u);
  EXPECT_EQ(r.pages[0].offset, 0x1000u);
  EXPECT_EQ(r.pages[0].kind, PageKind::zero);
}

TEST(Walker, SameBlockListWithoutTheCapabilityDoesNotParse) {
  // The GPAs are only there because of the capability: without it they are garbage.
  StreamBuilder b = ignore_shared_stream(false);
  Recorder r;
  auto s = walk(b, r);
  EXPECT_FALSE(s.ok() && s->ram_blocks.size() == 2 && s->ram_blocks[1].name == "/rom@etc/acpi/tables");
}

TEST(Walker, TargetPageBitsSetThePageSize) {
  StreamBuilder b;
  b.header().configuration("virt-7.2").config_target_page_bits(14);
  b.section_start(2, "ram", 0, 4).ram_mem_size({{"mach-virt.ram", 0x10000}}).ram_eos().footer(2);
  b.section_part(2).ram_page(0x4000, "mach-virt.ram", 0x5a, 0x4000).ram_zero(0x8000, "").ram_eos().footer(2).eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->configuration->target_page_bits.value_or(0), 14u);
  EXPECT_EQ(s->page_size, 16384u);
  EXPECT_STREQ(s->page_size_source, "configuration");
  ASSERT_EQ(r.pages.size(), 2u);
  EXPECT_EQ(r.pages[0].kind, PageKind::page);
  EXPECT_EQ(r.pages[0].payload.size(), 16384u);
  EXPECT_EQ(r.pages[1].offset, 0x8000u);
  // The same stream read with 4 KiB pages goes wrong.
  Recorder r2;
  auto forced = walk(b, r2, nullptr, 4096);
  EXPECT_FALSE(forced.ok());
}

TEST(Walker, TargetPageBitsOutOfRange) {
  StreamBuilder b;
  b.header().configuration("virt").config_target_page_bits(40).eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::corrupt);
  EXPECT_TRUE(contains(s.error().detail, "target-page-bits"));
}

TEST(Walker, UuidAndSeveralSubsections) {
  StreamBuilder b;
  b.header().configuration("pc-q35-7.2").config_capabilities({"x-ignore-shared", "validate-uuid"}).config_uuid(0x10).eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_TRUE(s->configuration->uuid.has_value());
  ASSERT_EQ(s->configuration->uuid->size(), 16u);
  EXPECT_EQ(static_cast<unsigned>((*s->configuration->uuid)[0]), 0x10u);
  EXPECT_EQ(static_cast<unsigned>((*s->configuration->uuid)[15]), 0x1fu);
  EXPECT_EQ(s->configuration->capabilities.size(), 2u);
}

TEST(Walker, UnknownConfigurationSubsectionIsUnsupported) {
  StreamBuilder b;
  b.header().configuration("pc");
  const std::uint64_t at = b.offset();
  b.subsection("configuration/from-the-future").be32(1).eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::unsupported);
  EXPECT_EQ(s.error().offset, at);
  EXPECT_TRUE(contains(s.error().detail, "configuration/from-the-future"));
}

TEST(Walker, ConfigurationAfterASectionIsCorrupt) {
  StreamBuilder b = prologue();
  const std::uint64_t at = b.offset();
  b.configuration("pc").eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::corrupt);
  EXPECT_EQ(s.error().offset, at);
}

TEST(Walker, PageSizePrecedenceOptionThenVmdescThenConfiguration) {
  StreamBuilder b;
  b.header().configuration("virt").config_target_page_bits(12).eof();
  auto vd = Vmdesc::parse(R"({"page_size": 65536, "devices": []})", 0);
  ASSERT_TRUE(vd.ok());
  Recorder r1, r2;
  auto with_vmdesc = walk(b, r1, &*vd);
  ASSERT_TRUE(with_vmdesc.ok());
  EXPECT_EQ(with_vmdesc->page_size, 65536u);
  EXPECT_STREQ(with_vmdesc->page_size_source, "vmdesc");
  auto with_option = walk(b, r2, &*vd, 8192);
  ASSERT_TRUE(with_option.ok());
  EXPECT_EQ(with_option->page_size, 8192u);
  EXPECT_STREQ(with_option->page_size_source, "option");
}

// ---------------------------------------------------------------------------
// commands

TEST(Walker, CommandsAreReportedWithPayloads) {
  StreamBuilder b;
  b.header().configuration("pc");
  const std::uint64_t first = b.offset();
  b.open_return_path().ping(1).postcopy_advise(0x1000, 0x1000).command(8).eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(r.commands.size(), 4u);
  EXPECT_EQ(s->commands, 4u);
  EXPECT_EQ(r.commands[0].cmd, wire::kCmdOpenReturnPath);
  EXPECT_EQ(r.commands[0].offset, first);
  EXPECT_EQ(r.commands[1].cmd, wire::kCmdPing);
  ASSERT_EQ(r.commands[1].payload.size(), 4u);
  EXPECT_EQ(load_be32(r.commands[1].payload.data()), 1u);
  EXPECT_EQ(r.commands[1].offset, first + 5);
  EXPECT_EQ(r.commands[2].cmd, wire::kCmdPostcopyAdvise);
  EXPECT_EQ(r.commands[2].payload.size(), 16u);
  EXPECT_EQ(r.commands[3].cmd, wire::kCmdEnableColo);
  EXPECT_EQ(r.commands[3].depth, 0u);
}

TEST(Walker, PostcopyAdviseEnablesPerBlockPageSizes) {
  StreamBuilder b;
  b.header().configuration("pc-q35-7.2").postcopy_advise(0x201000, 0x1000);
  b.section_start(2, "ram", 0, 4)
      .ram_mem_size({{"pc.ram", 0x400000, std::nullopt, 0x200000}, {"small", 0x1000}})
      .ram_eos()
      .footer(2)
      .eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(s->ram_blocks.size(), 2u);
  EXPECT_EQ(s->ram_blocks[0].page_size, 0x200000u);
  EXPECT_EQ(s->ram_blocks[1].name, "small");
  EXPECT_EQ(s->ram_blocks[1].page_size, 0u);
}

TEST(Walker, BadCommands) {
  struct Case {
    std::uint16_t cmd;
    std::vector<std::byte> payload;
    const char* needle;
  };
  const std::vector<Case> cases = {
      {0, {}, "unknown command 0x0"},
      {12, {}, "unknown command 0xc"},
      {0x4242, {}, "unknown command 0x4242"},
      {2, std::vector<std::byte>(3), "PING with length 3, expected 4"},
      {1, std::vector<std::byte>(1), "OPEN_RETURN_PATH with length 1"},
      {3, std::vector<std::byte>(8), "POSTCOPY_ADVISE with length 8"},
      {7, std::vector<std::byte>(2), "PACKAGED with length 2"},
      {6, std::vector<std::byte>{std::byte{1}, std::byte{1}, std::byte{'a'}}, "POSTCOPY_RAM_DISCARD"},
      {10, std::vector<std::byte>{std::byte{5}, std::byte{'a'}}, "RECV_BITMAP"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.needle);
    StreamBuilder b;
    b.header().configuration("pc");
    const std::uint64_t at = b.offset();
    b.command(c.cmd, c.payload).eof();
    Recorder r;
    auto s = walk(b, r);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::corrupt);
    EXPECT_EQ(s.error().offset, at);
    EXPECT_TRUE(contains(s.error().detail, c.needle)) << s.error().detail;
  }
}

TEST(Walker, PackagedBlobIsWalkedRecursively) {
  StreamBuilder blob;
  blob.postcopy_listen();
  blob.section_full(10, "timer", 0, 2).be64(0x1234).footer(10);
  blob.ping(3).postcopy_run();
  StreamBuilder b;
  b.header().configuration("pc-q35-7.2").open_return_path().ping(1).postcopy_advise(0x1000, 0x1000);
  b.section_start(2, "ram", 0, 4).ram_mem_size({{"pc.ram", 0x4000}}).ram_eos().footer(2);
  b.ping(2);
  const std::uint64_t pkg_at = b.offset();
  b.packaged(blob);
  const std::uint64_t after_blob = b.offset();
  b.section_part(2).ram_zero(0, "pc.ram").ram_eos().footer(2);
  b.ping(4).section_end(2).ram_eos().footer(2).eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_TRUE(s->warnings.empty());
  // open_return_path, ping 1, advise, ping 2, packaged, listen, ping 3, run, ping 4
  ASSERT_EQ(r.commands.size(), 9u);
  EXPECT_EQ(r.commands[4].cmd, wire::kCmdPackaged);
  EXPECT_EQ(r.commands[4].offset, pkg_at);
  EXPECT_EQ(r.commands[4].depth, 0u);
  EXPECT_EQ(r.commands[5].cmd, wire::kCmdPostcopyListen);
  EXPECT_EQ(r.commands[5].depth, 1u);
  EXPECT_EQ(r.commands[7].cmd, wire::kCmdPostcopyRun);
  EXPECT_EQ(r.commands[7].depth, 1u);
  EXPECT_EQ(r.commands[8].depth, 0u);
  ASSERT_EQ(r.sections.size(), 4u);
  EXPECT_EQ(r.sections[1].idstr, "timer");
  EXPECT_EQ(r.sections[1].depth, 1u);
  EXPECT_TRUE(r.sections[1].has_footer);
  EXPECT_EQ(r.sections[1].body_size, 8u);
  EXPECT_EQ(r.sections[2].offset, after_blob);
  EXPECT_EQ(r.sections[2].depth, 0u);
}

TEST(Walker, PackagedBlobWithBytesAfterPostcopyRunWarns) {
  StreamBuilder blob;
  blob.postcopy_listen().postcopy_run().u8(0xaa).u8(0xbb);
  StreamBuilder b;
  b.header().configuration("pc").packaged(blob).eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(s->warnings.size(), 1u);
  EXPECT_TRUE(contains(s->warnings[0].text, "PACKAGED")) << s->warnings[0].text;
  EXPECT_EQ(s->warnings[0].offset, b.size() - 3);
}

TEST(Walker, PackagedBlobLongerThanTheFileIsTruncated) {
  StreamBuilder b;
  b.header().configuration("pc").command_raw(7, StreamBuilder().be32(1000)).postcopy_run().eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::truncated);
  EXPECT_TRUE(contains(s.error().detail, "PACKAGED")) << s.error().detail;
}

TEST(Walker, PackagedNestingIsLimited) {
  StreamBuilder inner;
  inner.postcopy_run();
  for (int i = 0; i < 10; ++i) {
    StreamBuilder outer;
    outer.packaged(inner).postcopy_run();
    inner = outer;
  }
  StreamBuilder b;
  b.header().configuration("pc").packaged(inner).eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::corrupt);
  EXPECT_TRUE(contains(s.error().detail, "nested")) << s.error().detail;
}

// ---------------------------------------------------------------------------
// sections and footers

TEST(Walker, SectionOffsetsAndFooters) {
  StreamBuilder b;
  b.header().configuration("pc");
  const std::uint64_t sec = b.offset();
  b.section_full(7, "0000:00:1f.0/ICH9LPC", 0, 1);
  const std::uint64_t body = b.offset();
  b.be32(0xcafe);
  const std::uint64_t footer = b.offset();
  b.footer(7);
  const std::uint64_t end = b.offset();
  b.eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_TRUE(s->footers);
  ASSERT_EQ(r.sections.size(), 1u);
  const auto& x = r.sections[0];
  EXPECT_EQ(x.type, wire::kSectionFull);
  EXPECT_EQ(x.idstr, "0000:00:1f.0/ICH9LPC");
  EXPECT_EQ(x.offset, sec);
  EXPECT_EQ(x.body_offset, body);
  EXPECT_EQ(x.body_end, footer);
  EXPECT_EQ(x.end, end);
  EXPECT_TRUE(x.has_footer);
}

TEST(Walker, MismatchedFooterIdIsCorrupt) {
  auto vd = Vmdesc::parse(
      R"({"devices": [{"name": "dev", "instance_id": 0, "fields": [{"name": "a", "type": "uint32", "size": 4}]}]})", 0);
  ASSERT_TRUE(vd.ok());
  StreamBuilder b;
  b.header().configuration("pc");
  b.section_start(2, "ram", 0, 4).ram_mem_size({{"pc.ram", 0x1000}}).ram_eos();
  const std::uint64_t at = b.offset();
  b.footer(3).eof();
  Recorder r;
  auto s = walk(b, r, &*vd);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::corrupt);
  EXPECT_EQ(s.error().offset, at);
  EXPECT_TRUE(contains(s.error().detail, "mismatched")) << s.error().detail;
  EXPECT_TRUE(contains(s.error().detail, "'ram'")) << s.error().detail;
  EXPECT_TRUE(contains(s.error().detail, "read id 3, expected 2")) << s.error().detail;
}

TEST(Walker, MissingFooterAfterEarlierFootersIsCorrupt) {
  StreamBuilder b;
  b.header().configuration("pc");
  b.section_start(2, "ram", 0, 4).ram_mem_size({{"pc.ram", 0x1000}}).ram_eos().footer(2);
  b.section_end(2).ram_eos();
  const std::uint64_t at = b.offset();
  b.eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::corrupt);
  EXPECT_EQ(s.error().offset, at);
  EXPECT_TRUE(contains(s.error().detail, "missing section footer")) << s.error().detail;
}

TEST(Walker, FooterAfterSectionsWithoutFootersIsCorrupt) {
  StreamBuilder b;
  b.header().configuration("pc");
  b.section_start(2, "ram", 0, 4).ram_mem_size({{"pc.ram", 0x1000}}).ram_eos();
  b.section_end(2).ram_eos();
  const std::uint64_t at = b.offset();
  b.footer(2).eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::corrupt);
  EXPECT_EQ(s.error().offset, at);
}

TEST(Walker, StreamWithoutFootersIsAccepted) {
  StreamBuilder b;
  b.header().configuration("pc-i440fx-2.3");
  b.section_start(2, "ram", 0, 4).ram_mem_size({{"pc.ram", 0x2000}}).ram_eos();
  b.section_end(2).ram_zero(0x1000, "pc.ram").ram_eos().eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_FALSE(s->footers);
  ASSERT_EQ(r.sections.size(), 2u);
  EXPECT_FALSE(r.sections[0].has_footer);
  EXPECT_EQ(r.sections[1].type, wire::kSectionEnd);
}

TEST(Walker, UnknownSectionTypeByteIsNamed) {
  for (std::uint8_t t : std::vector<std::uint8_t>{0x09, 0x05, 0x06, 0x7e, 0xff}) {
    SCOPED_TRACE(t);
    StreamBuilder b = prologue();
    const std::uint64_t at = b.offset();
    b.u8(t).be32(0).eof();
    Recorder r;
    auto s = walk(b, r);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::corrupt);
    EXPECT_EQ(s.error().offset, at);
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", t);
    if (t != 0x7e) {
      EXPECT_TRUE(contains(s.error().detail, hex)) << s.error().detail;
    }
  }
}

TEST(Walker, PartForAnUnknownSectionIdIsCorrupt) {
  StreamBuilder b;
  b.header().configuration("pc");
  b.section_start(2, "ram", 0, 4).ram_mem_size({{"pc.ram", 0x1000}}).ram_eos().footer(2);
  const std::uint64_t at = b.offset();
  b.section_part(9).ram_eos().footer(9).eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::corrupt);
  EXPECT_EQ(s.error().offset, at);
  EXPECT_TRUE(contains(s.error().detail, "section id 9")) << s.error().detail;
  EXPECT_TRUE(contains(s.error().detail, "SECTION_PART")) << s.error().detail;
}

TEST(Walker, TruncatedStreamEndsWithATruncationError) {
  StreamBuilder b;
  b.header().configuration("pc");
  b.section_start(2, "ram", 0, 4).ram_mem_size({{"pc.ram", 0x2000}}).ram_eos().footer(2);
  b.section_part(2).ram_page(0, "pc.ram");
  StreamBuilder cut;
  cut.raw(b.bytes().first(b.size() - 100));
  Recorder r;
  auto s = walk(cut, r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::truncated);
  EXPECT_TRUE(contains(s.error().detail, "RAM page")) << s.error().detail;
  // Without EOF the walk also fails: the section type byte is missing.
  StreamBuilder no_eof;
  no_eof.header().configuration("pc");
  Recorder r2;
  auto s2 = walk(no_eof, r2);
  ASSERT_FALSE(s2.ok());
  EXPECT_EQ(s2.error().code, ErrorCode::truncated);
  EXPECT_EQ(s2.error().offset, no_eof.size());
}

TEST(Walker, RamSectionVersionMustBe4) {
  StreamBuilder b;
  b.header().configuration("pc").section_start(2, "ram", 0, 3).ram_eos().footer(2).eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::unsupported);
}

// ---------------------------------------------------------------------------
// trailer and trailing bytes

TEST(Walker, TrailerIsRecognised) {
  StreamBuilder b;
  b.header().configuration("pc").eof();
  const std::uint64_t at = b.offset();
  b.vmdesc(R"({"devices": []})");
  Recorder r;
  auto s = walk(b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->trailer_offset.value_or(0), at);
  EXPECT_EQ(s->trailer_length, 15u);
  EXPECT_EQ(s->end_offset, b.size());
  EXPECT_TRUE(s->warnings.empty());
}

TEST(Walker, TrailingGarbageWarns) {
  StreamBuilder b;
  b.header().configuration("pc").eof();
  const std::uint64_t at = b.offset();
  b.raw("junk!");
  Recorder r;
  auto s = walk(b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_FALSE(s->trailer_offset.has_value());
  ASSERT_EQ(s->warnings.size(), 1u);
  EXPECT_EQ(s->warnings[0].offset, at);
  EXPECT_TRUE(contains(s->warnings[0].text, "5 bytes after EOF")) << s->warnings[0].text;
}

TEST(Walker, TrailerLongerThanTheInputIsTruncated) {
  // A trailer whose length runs past the end: the file was cut inside it.
  StreamBuilder b;
  b.header().configuration("pc").eof().u8(0x06).be32(100).raw(R"({"devices": []})");
  Recorder r;
  auto s = walk(b, r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::truncated);
  EXPECT_TRUE(contains(s.error().detail, "VMDESCRIPTION trailer of 100 bytes")) << s.error().detail;
  StreamBuilder cut;
  cut.header().configuration("pc").eof().u8(0x06).u8(0);
  auto t = walk(cut, r);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, ErrorCode::truncated);
}

TEST(Walker, TrailerShorterThanTheRestWarns) {
  StreamBuilder b;
  b.header().configuration("pc").eof().u8(0x06).be32(2).raw(R"({"devices": []})");
  Recorder r;
  auto s = walk(b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_FALSE(s->trailer_offset.has_value());
  ASSERT_EQ(s->warnings.size(), 1u);
  EXPECT_TRUE(contains(s->warnings[0].text, "VMDESCRIPTION length 2")) << s->warnings[0].text;
}

// ---------------------------------------------------------------------------
// device sections

constexpr const char* kDevDesc =
    R"({"page_size": 4096, "devices": [{"name": "dev", "instance_id": 0, "vmsd_name": "dev", "version": 1,)"
    R"( "fields": [{"name": "a", "type": "uint32", "size": 4}, {"name": "b", "type": "uint8", "size": 1}]}]})";

TEST(Walker, DeviceSectionIsDecodedThroughTheVmdesc) {
  auto vd = Vmdesc::parse(kDevDesc, 0);
  ASSERT_TRUE(vd.ok());
  StreamBuilder b;
  b.header().configuration("pc").section_full(4, "dev", 0, 1).be32(1).u8(2).footer(4).eof();
  Recorder r;
  auto s = walk(b, r, &*vd);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(r.sections.size(), 1u);
  EXPECT_EQ(r.sections[0].kind, SectionKind::device);
  EXPECT_TRUE(r.sections[0].has_state);
  EXPECT_TRUE(s->warnings.empty());
}

TEST(Walker, DeviceOfAnotherInstanceIsOpaque) {
  auto vd = Vmdesc::parse(kDevDesc, 0);
  ASSERT_TRUE(vd.ok());
  StreamBuilder b;
  b.header().configuration("pc").section_full(4, "dev", 1, 1).be32(1).u8(2).footer(4).eof();
  Recorder r;
  auto s = walk(b, r, &*vd);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(r.sections[0].kind, SectionKind::opaque);
  EXPECT_FALSE(r.sections[0].has_state);
  EXPECT_EQ(r.sections[0].body_size, 5u);
}

TEST(Walker, DeviceNotMatchingItsDescriptionBecomesOpaqueWithAWarning) {
  auto vd = Vmdesc::parse(kDevDesc, 0);
  ASSERT_TRUE(vd.ok());
  StreamBuilder b = prologue();
  const std::uint64_t body = b.offset() + 1 + 4 + 4 + 8;
  b.section_full(4, "dev", 0, 1).be32(1).u8(2).u8(3).footer(4).eof();  // one byte more than described
  Recorder r;
  auto s = walk(b, r, &*vd);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(r.sections.size(), 2u);
  EXPECT_EQ(r.sections[1].kind, SectionKind::device);
  EXPECT_FALSE(r.sections[1].has_state);
  EXPECT_EQ(r.sections[1].body_size, 6u);
  ASSERT_EQ(s->warnings.size(), 1u);
  EXPECT_EQ(s->warnings[0].offset, body);
  EXPECT_TRUE(contains(s->warnings[0].text, "'dev'")) << s->warnings[0].text;
  EXPECT_TRUE(contains(s->warnings[0].text, "opaque")) << s->warnings[0].text;
}

TEST(Walker, DeviceNotMatchingWithoutFootersIsAnError) {
  auto vd = Vmdesc::parse(kDevDesc, 0);
  ASSERT_TRUE(vd.ok());
  StreamBuilder b = prologue(/*footers=*/false);
  b.section_full(4, "dev", 0, 1).be32(1).u8(2).u8(0x55).eof();
  Recorder r;
  auto s = walk(b, r, &*vd);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::corrupt);
}

TEST(Walker, Qemu72NullMarkerDescribedAsStructIsRetried) {
  auto vd = Vmdesc::parse(
      R"({"devices": [{"name": "css", "instance_id": 0, "vmsd_name": "css", "version": 1, "fields": [)"
      R"({"name": "sch", "type": "struct", "size": 4, "array_len": 3, "struct": {"vmsd_name": "s", "version": 1,)"
      R"( "fields": [{"name": "v", "type": "uint32", "size": 4}]}}]}]})",
      0);
  ASSERT_TRUE(vd.ok());
  StreamBuilder b = prologue();
  b.section_full(3, "css", 0, 1).be32(1).u8(0x30).be32(3).footer(3).eof();
  Recorder r;
  auto s = walk(b, r, &*vd);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(r.sections.size(), 2u);
  EXPECT_TRUE(r.sections[1].has_state);
  ASSERT_EQ(s->warnings.size(), 1u);
  EXPECT_TRUE(contains(s->warnings[0].text, "NULL")) << s->warnings[0].text;
}

TEST(Walker, OpaqueSectionFindsItsFooterPastLookalikes) {
  StreamBuilder b;
  b.header().configuration("pc");
  // The body contains 7e 00000005 followed by an implausible byte, then the real footer.
  b.section_full(5, "blob", 0, 1).footer(5).u8(0x99).u8(0x7e).footer(5).eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(r.sections.size(), 1u);
  EXPECT_EQ(r.sections[0].body_size, 7u);
}

TEST(Walker, OpaqueSectionWithoutFooterIsTruncated) {
  StreamBuilder b;
  b.header().configuration("pc");
  b.section_start(2, "ram", 0, 4).ram_mem_size({{"pc.ram", 0x1000}}).ram_eos().footer(2);
  b.section_full(5, "blob", 0, 1).raw("no footer here").eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::truncated);
  EXPECT_TRUE(contains(s.error().detail, "'blob'")) << s.error().detail;
}

// ---------------------------------------------------------------------------
// RAM records

TEST(Walker, RamRecordsOfEveryKind) {
  const std::vector<std::byte> enc{std::byte{0}, std::byte{2}, std::byte{0x11}, std::byte{0x22}};
  const std::vector<std::byte> z{std::byte{0x78}, std::byte{0x01}, std::byte{0x63}, std::byte{0x00}};
  StreamBuilder b;
  b.header().configuration("pc");
  b.section_start(2, "ram", 0, 4).ram_mem_size({{"pc.ram", 0x8000}, {"vga.vram", 0x2000}}).ram_eos().footer(2);
  b.section_part(2);
  const std::uint64_t zero_at = b.offset();
  b.ram_zero(0, "pc.ram").ram_zero(0x1000, "", 0x5a);
  b.ram_page(0x2000, "").ram_page(0x1000, "vga.vram").ram_multifd_flush().ram_eos().footer(2);
  b.section_end(2).ram_xbzrle(0x2000, "pc.ram", enc).ram_compress(0x3000, "", z).ram_eos().footer(2).eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(r.block_announcements, 1);
  ASSERT_EQ(r.pages.size(), 6u);
  EXPECT_EQ(r.pages[0].kind, PageKind::zero);
  EXPECT_EQ(r.pages[0].file_offset, zero_at);
  EXPECT_EQ(r.pages[0].block, 0u);
  EXPECT_EQ(r.pages[1].offset, 0x1000u);
  EXPECT_EQ(r.pages[1].fill, 0x5a);
  EXPECT_EQ(r.pages[2].kind, PageKind::page);
  EXPECT_EQ(r.pages[2].payload.size(), 4096u);
  EXPECT_EQ(static_cast<unsigned>(r.pages[2].payload[0]), 0xabu);
  EXPECT_EQ(r.pages[3].block, 1u);  // a named block switches what CONTINUE means
  EXPECT_EQ(r.pages[4].kind, PageKind::xbzrle);
  EXPECT_EQ(r.pages[4].payload.size(), 4u);
  EXPECT_EQ(r.pages[4].block, 0u);
  EXPECT_EQ(r.pages[5].kind, PageKind::compressed);
  EXPECT_EQ(r.pages[5].payload.size(), 4u);
  EXPECT_EQ(r.pages[5].block, 0u);
  EXPECT_EQ(r.pages[5].offset, 0x3000u);
}

struct RamCase {
  const char* name;
  StreamBuilder body;
  ErrorCode code;
  const char* needle;
};

TEST(Walker, RamRecordErrors) {
  std::vector<RamCase> cases;
  cases.push_back({"continue first", StreamBuilder().ram_zero(0, ""), ErrorCode::corrupt, "CONTINUE"});
  cases.push_back({"unknown block", StreamBuilder().ram_zero(0, "nope"), ErrorCode::corrupt, "'nope'"});
  cases.push_back({"outside block", StreamBuilder().ram_zero(0x4000, "pc.ram"), ErrorCode::corrupt, "outside block"});
  cases.push_back({"hook", StreamBuilder().be64(0x80), ErrorCode::unsupported, "HOOK"});
  cases.push_back({"two types", StreamBuilder().be64(0x0a).counted("pc.ram"), ErrorCode::corrupt, "unknown RAM record flags"});
  cases.push_back({"xbzrle encoding", StreamBuilder().ram_header(0, 0x40, "pc.ram").u8(2).be16(1).u8(0), ErrorCode::corrupt,
                   "XBZRLE encoding"});
  cases.push_back({"xbzrle too long", StreamBuilder().ram_header(0, 0x40, "pc.ram").u8(1).be16(4097), ErrorCode::corrupt,
                   "exceeds the page size"});
  cases.push_back({"compress too long", StreamBuilder().ram_header(0, 0x100, "pc.ram").be32(5000), ErrorCode::corrupt,
                   "compressBound"});
  for (auto& c : cases) {
    SCOPED_TRACE(c.name);
    StreamBuilder b;
    b.header().configuration("pc");
    b.section_start(2, "ram", 0, 4).ram_mem_size({{"pc.ram", 0x4000}}).ram_eos().footer(2);
    b.section_part(2);
    const std::uint64_t at = b.offset();
    b.raw(c.body.bytes()).ram_eos().footer(2).eof();
    Recorder r;
    auto s = walk(b, r);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, c.code) << s.error().message();
    EXPECT_GE(s.error().offset, at);
    EXPECT_TRUE(contains(s.error().detail, c.needle)) << s.error().detail;
  }
}

TEST(Walker, MemSizeBlockLongerThanTheTotalIsCorrupt) {
  StreamBuilder b;
  b.header().configuration("pc");
  b.section_start(2, "ram", 0, 4).be64(0x1000 | 0x04).counted("pc.ram").be64(0x2000).ram_eos().footer(2).eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::corrupt);
  EXPECT_TRUE(contains(s.error().detail, "pc.ram")) << s.error().detail;
}

// ---------------------------------------------------------------------------
// other iterative sections

TEST(Walker, HtabAndStorageAttributesAreWalkedStructurally) {
  StreamBuilder b;
  b.header().configuration("pseries-7.2");
  b.section_start(3, "spapr/htab", 0, 1).be32(24).footer(3);  // htab_shift
  b.section_part(3).be32(0).be32(0).be16(1).be16(0).fill(16, 0xcc).be32(0).be16(0).be16(0).footer(3);
  b.section_end(3).be32(0).be32(0).be16(0).be16(0).footer(3);
  b.section_start(4, "s390-storage_attributes", 0, 0).be64(0x01).footer(4);
  b.section_part(4).be64((5ull << 12) | 0x02).be64(3).raw("abc").be64(0x08).be64(0x01).footer(4);
  b.eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(r.sections.size(), 5u);
  EXPECT_EQ(r.sections[0].kind, SectionKind::htab);
  EXPECT_EQ(r.sections[1].body_size, 4u + 8 + 16 + 8);
  EXPECT_EQ(r.sections[3].kind, SectionKind::storage_attributes);
  EXPECT_EQ(r.sections[4].body_size, 8u + 8 + 3 + 8 + 8);
}

TEST(Walker, CommandsArriveWithTheirPayloadDecoded) {
  StreamBuilder b;
  b.header().configuration("pc");
  b.command_raw(2, StreamBuilder().be32(0xabcd));                              // PING
  b.command_raw(3, StreamBuilder().be64(0x201000).be64(4096));                 // POSTCOPY_ADVISE
  b.command_raw(10, StreamBuilder().counted("pc.ram"));                        // RECV_BITMAP
  b.eof();
  Recorder r;
  auto s = walk(b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(r.commands.size(), 3u);
  EXPECT_EQ(r.commands[0].value, 0xabcdu);
  EXPECT_EQ(r.commands[1].advised_page_sizes.value_or(0), 0x201000u);
  EXPECT_EQ(r.commands[1].advised_target_page_size.value_or(0), 4096u);
  EXPECT_EQ(r.commands[2].block_name, "pc.ram");
}

// Records each RamDiscard with a copy of its ranges.
struct DiscardRecorder : Recorder {
  struct Seen {
    std::uint32_t block;
    std::uint64_t offset;
    std::vector<RamDiscard::Range> ranges;
  };
  std::vector<Seen> discards;
  Status on_ram_discard(std::span<const RamBlock>, const RamDiscard& d) override {
    discards.push_back({d.block, d.offset, {d.ranges.begin(), d.ranges.end()}});
    return {};
  }
};

StreamBuilder stream_with_discard(std::string_view block, std::uint64_t start, std::uint64_t length) {
  StreamBuilder b;
  b.header().section_start(1, "ram", 0, 4).ram_mem_size({{"pc.rom", 0x4000}, {"pc.ram", 0x10000}}).ram_eos().footer(1);
  b.section_part(1).ram_page(0, "pc.ram", 1).ram_eos().footer(1);
  StreamBuilder d;
  d.u8(0).counted(block).u8(0).be64(start).be64(length).be64(0x8000).be64(0x1000);
  b.command_raw(6, d);
  b.section_end(1).ram_eos().footer(1).eof();
  return b;
}

TEST(Walker, PostcopyDiscardIsATypedEventCheckedAgainstTheBlockTable) {
  DiscardRecorder r;
  StreamBuilder b = stream_with_discard("pc.ram", 0x1000, 0x2000);
  auto s = walk(b, r);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(r.discards.size(), 1u);
  EXPECT_EQ(r.discards[0].block, 1u);  // pc.ram is the second block
  ASSERT_EQ(r.discards[0].ranges.size(), 2u);
  EXPECT_EQ(r.discards[0].ranges[0].start, 0x1000u);
  EXPECT_EQ(r.discards[0].ranges[0].length, 0x2000u);
  EXPECT_EQ(r.discards[0].ranges[1].start, 0x8000u);
  ASSERT_EQ(r.commands.size(), 1u);
  EXPECT_EQ(r.commands[0].block_name, "pc.ram");
  EXPECT_EQ(r.discards[0].offset, r.commands[0].offset);

  struct Case {
    const char* block;
    std::uint64_t start, length;
    const char* expect;
  };
  for (const Case& c : {Case{"nope", 0, 0x1000, "which MEM_SIZE never announced"},
                        Case{"pc.ram", 0x1100, 0x1000, "not aligned to the page size 4096"},
                        Case{"pc.ram", 0x1000, 0x1800, "not aligned"},
                        Case{"pc.ram", 0xf000, 0x2000, "range outside block 'pc.ram'"}}) {
    DiscardRecorder bad;
    StreamBuilder sb = stream_with_discard(c.block, c.start, c.length);
    auto st = walk(sb, bad);
    ASSERT_FALSE(st.ok()) << c.expect;
    EXPECT_EQ(st.error().code, ErrorCode::corrupt);
    EXPECT_TRUE(contains(st.error().detail, c.expect)) << st.error().detail;
    EXPECT_TRUE(bad.discards.empty());
  }
}

}  // namespace
}  // namespace migscope
