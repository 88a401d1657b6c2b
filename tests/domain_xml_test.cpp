// The domain XML summary (input/domain_xml): the fields users look for
// first, read from the XML libvirt writes, and errors for what is not one.
#include <chrono>

#include <gtest/gtest.h>

#include "migscope/input.h"

namespace migscope {
namespace {

constexpr const char* kDomain = R"(<?xml version="1.0"?>
<!-- written by libvirt; edit with virsh save-image-edit -->
<domain type='kvm' id='3'>
  <name>web&amp;db</name>
  <uuid>5a8f3d0e-9c1b-4d2e-8f7a-0123456789ab</uuid>
  <metadata><app:name xmlns:app="x">not the domain's name</app:name></metadata>
  <memory unit='GiB'>4</memory>
  <currentMemory unit='KiB'>4194304</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <cpu mode='custom'><model fallback='allow'>qemu64</model></cpu>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/web &quot;1&quot;.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type="block" device="cdrom">
      <source dev="/dev/sr0"/>
      <target dev="sda" bus="sata"/>
      <readonly/>
    </disk>
    <interface type='network'><source network='default'/></interface>
  </devices>
</domain>
)";

TEST(DomainXml, TheFieldsUsersLookForFirst) {
  auto d = summarize_domain_xml(kDomain);
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->name, "web&db");
  EXPECT_EQ(d->uuid, "5a8f3d0e-9c1b-4d2e-8f7a-0123456789ab");
  EXPECT_EQ(d->type, "kvm");
  EXPECT_EQ(d->memory_kib, 4u << 20);
  EXPECT_EQ(d->vcpus, 2u);
  EXPECT_EQ(d->arch, "x86_64");
  EXPECT_EQ(d->machine, "pc-q35-7.2");
  EXPECT_EQ(d->emulator, "/usr/bin/qemu-system-x86_64");
  ASSERT_EQ(d->disks.size(), 2u);
  EXPECT_EQ(d->disks[0].device, "disk");
  EXPECT_EQ(d->disks[0].type, "file");
  EXPECT_EQ(d->disks[0].format, "qcow2");
  EXPECT_EQ(d->disks[0].source, "/var/lib/libvirt/images/web \"1\".qcow2");
  EXPECT_EQ(d->disks[0].target, "vda");
  EXPECT_EQ(d->disks[1].device, "cdrom");
  EXPECT_EQ(d->disks[1].source, "/dev/sr0");
  EXPECT_EQ(d->disks[1].target, "sda");
  EXPECT_EQ(d->disks[1].format, "");
}

TEST(DomainXml, MemoryUnits) {
  for (auto [unit, value, kib] : {std::tuple{"", 2048ull, 2048ull}, std::tuple{"KiB", 2048ull, 2048ull},
                                  std::tuple{"M", 128ull, 131072ull}, std::tuple{"MiB", 128ull, 131072ull},
                                  std::tuple{"b", 1048576ull, 1024ull}, std::tuple{"G", 1ull, 1048576ull}}) {
    std::string xml = std::string("<domain><memory unit='") + unit + "'>" + std::to_string(value) + "</memory></domain>";
    if (*unit == '\0') xml = "<domain><memory>" + std::to_string(value) + "</memory></domain>";
    auto d = summarize_domain_xml(xml);
    ASSERT_TRUE(d.ok()) << xml;
    EXPECT_EQ(d->memory_kib, kib) << xml;
  }
}

TEST(DomainXml, WhatIsNotADomainIsAnErrorWithAnOffset) {
  for (const char* bad : {"", "just text", "<network><name>n</name></network>", "<domain><name>x</name",
                          "<domain><name a=>x</name></domain>", "</domain>"}) {
    auto d = summarize_domain_xml(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.error().code, ErrorCode::corrupt) << bad;
    EXPECT_NE(d.error().detail.find("domain XML"), std::string::npos) << d.error().detail;
  }
}

TEST(DomainXml, DeepNestingIsRefused) {
  std::string xml = "<domain>";
  for (int i = 0; i < 1000; ++i) xml += "<a>";
  auto d = summarize_domain_xml(xml);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().detail.find("nested too deep"), std::string::npos);
}

TEST(DomainXml, ARunOfAmpersandsIsReadInLinearTime) {
  // 4 MiB of '&' without a ';': searching to the end for each one took
  // minutes; each '&' is kept as text.
  const std::string amps(4u << 20, '&');
  const std::string xml = "<domain><name>" + amps + "</name><uuid>u&amp;</uuid></domain>";
  const auto t0 = std::chrono::steady_clock::now();
  auto d = summarize_domain_xml(xml);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->name, amps);
  EXPECT_EQ(d->uuid, "u&");
  EXPECT_LT(seconds, 5.0);
}

}  // namespace
}  // namespace migscope
