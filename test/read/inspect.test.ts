// `shimboot inspect` on every fixture variant: what a user learns about a file.
import { describe, it, expect } from "vitest";
import { fixture, FIXTURE_KERNEL_RELEASE } from "../fixtures/fixtures.js";
import { CLI, runCli } from "../helpers/cli.js";
import { $ } from "zx";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

$.quiet = true;

async function inspect(name: Parameters<typeof fixture>[0]) {
  const r = await runCli(["inspect", "--json", await fixture(name)]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

describe("shimboot inspect", () => {
  it("identifies the x86 fixture as an RMA shim with its 12 partitions", async () => {
    const r = await inspect("shim-x86");
    expect(r.kind).toBe("rma-shim");
    expect(r.partitions.map((p: { label: string }) => p.label)).toEqual(["STATE", "KERN-A", "ROOT-A", "KERN-B", "ROOT-B", "KERN-C", "ROOT-C", "OEM", "reserved", "reserved", "RWFW", "EFI-SYSTEM"]);
  });

  it("reports KERN-A's attributes, vboot keyblock flags, kernel version and command line", async () => {
    const r = await inspect("shim-x86");
    expect(r.partitions[1].attributes).toEqual({ priority: 15, tries: 15, successful: 1 });
    expect(r.kernel.keyblock.flagNames).toEqual(["!DEV", "DEV", "REC", "!MINIOS"]);
    expect(r.kernel.preamble.kernelVersion).toBe(1);
    expect(r.kernel.cmdline).toContain("kern_guid=%U");
  });

  it("reads the kernel release from the bzImage header", async () => {
    const r = await inspect("shim-x86");
    expect(r.kernel.arch).toBe("x86_64");
    expect(r.kernel.format).toBe("bzImage");
    expect(r.kernel.release).toBe(FIXTURE_KERNEL_RELEASE);
  });

  it("finds the xz initramfs folded into .init.data and lists its notable contents", async () => {
    const r = await inspect("shim-x86");
    expect(r.kernel.payloadCompression).toBe("gzip");
    expect(r.kernel.initramfs).toMatchObject({ present: true, compression: "xz", location: { section: ".init.data", method: "candidate" } });
    expect(r.kernel.initramfs.files).toBeGreaterThan(30);
    expect(r.kernel.initramfs.notable).toMatchObject({ busybox: true, cgpt: true, freconLite: true, sbinToBin: true, usrToDot: true, devConsole: true });
  });

  it("names the board from ROOT-A's lsb-release without the signing suffix", async () => {
    const r = await inspect("shim-x86");
    expect(r.rootfs.lsbRelease.CHROMEOS_RELEASE_BOARD).toBe("dedede-signed-mp-v3keys");
    expect(r.board).toMatchObject({ name: "dedede", inTable: true, tableKernel: "5.4.85" });
    expect(r.rootfs.moduleReleases).toEqual([FIXTURE_KERNEL_RELEASE]);
  });

  it("says a shim whose hash is not in the board table is unknown", async () => {
    const r = await inspect("shim-x86");
    expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.knownShim).toEqual({ known: false, board: null });
  });

  it("uses the exact .init.ramfs section when the ELF has one (zstd payload, lz4 initramfs)", async () => {
    const r = await inspect("shim-x86-zstd-lz4");
    expect(r.kernel.payloadCompression).toBe("zstd");
    expect(r.kernel.initramfs).toMatchObject({ compression: "lz4", location: { section: ".init.ramfs", method: "elf-section" } });
    expect(r.kernel.release).toBe("4.14.91-17403-g3c2a5a8a1c1e");
    expect(r.partitions[1].size).toBe(24576);
  });

  it("finds a gzip initramfs in a kernel that is not an ELF file (lz4 payload)", async () => {
    const r = await inspect("shim-x86-lz4-gzip");
    expect(r.kernel.payloadCompression).toBe("lz4");
    expect(r.kernel.initramfs).toMatchObject({ compression: "gzip", location: { section: null } });
  });

  it("decodes an xz payload with a zstd initramfs", async () => {
    const r = await inspect("shim-x86-xz-zstd");
    expect([r.kernel.payloadCompression, r.kernel.initramfs.compression]).toEqual(["xz", "zstd"]);
  });

  it("decodes a bzip2 payload with an lzma initramfs", async () => {
    const r = await inspect("shim-x86-bzip2-lzma");
    expect([r.kernel.payloadCompression, r.kernel.initramfs.compression]).toEqual(["bzip2", "lzma"]);
    expect(r.policy.ext4Features).not.toContain("metadata_csum_seed");
  });

  it("reads an arm64 FIT kernel and its initramfs", async () => {
    const r = await inspect("shim-arm64");
    expect(r.kernel).toMatchObject({ arch: "arm64", format: "FIT", payloadCompression: "lz4", release: "5.10.136-20233-g5f1e2d3c4b5a" });
    expect(r.kernel.initramfs).toMatchObject({ present: true, compression: "xz" });
    expect(r.board).toMatchObject({ name: "jacuzzi", inTable: false });
  });

  it("identifies a recovery image and reports its firmware and modprobe.d", async () => {
    const r = await inspect("recovery-x86");
    expect(r.kind).toBe("recovery");
    expect(r.kernel.initramfs.present).toBe(false);
    expect(r.rootfs.modprobeD).toEqual({ lib: true, etc: true });
    expect(r.rootfs.firmwareFiles).toBe(3);
  });

  it("keeps its memory bounded on a multi-GB image (partitions read in place, hash streamed)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "inspect-big-"));
    try {
      const big = join(dir, "big.bin");
      await $`cp --sparse=always ${await fixture("shim-x86")} ${big}`;
      await $`truncate -s 3G ${big}`;
      await $`cgpt repair ${big}`; // the backup GPT moves to the new end
      const r = await $`/usr/bin/time -f ${"maxrss=%M"} ${process.execPath} ${CLI} inspect --json ${big}`;
      expect(JSON.parse(r.stdout).size).toBe(3 * 2 ** 30);
      const kib = Number(/maxrss=(\d+)/.exec(r.stderr)?.[1]);
      expect(kib).toBeGreaterThan(0);
      expect(kib).toBeLessThan(200 * 1024);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("prints a readable report without --json", async () => {
    const r = await runCli(["inspect", "--no-hash", await fixture("shim-x86")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("ChromeOS RMA (factory) shim");
    expect(r.stdout).toMatch(/initramfs: xz, .* entries/);
    expect(r.stdout).toContain("sbin -> bin yes");
  });
});
