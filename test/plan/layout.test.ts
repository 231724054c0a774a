// The layout is pure: the same request gives the same table, and the table
// keeps the contract of DESIGN.md §2.
import { describe, it, expect } from "vitest";
import { layoutImage, rootfsPartitionName, ALIGN } from "../../scripts/plan/layout.js";
import { KERNEL_ATTRIBUTES } from "../../scripts/contract.js";
import { extFsBytes, journalBytes } from "../../scripts/plan/sizes.js";
import { derivedUuid } from "../../scripts/plan/ids.js";
import { fsLabel } from "../../scripts/plan/plan.js";
import { bytes, sectors, MiB } from "../../scripts/lib/units.js";

const req = { kernelSectors: sectors(24576), bootloaderBytes: bytes(9 * MiB), vendorBytes: null, rootfsBytes: bytes(300 * MiB), rootfsName: "nixos" };

describe("partition layout", () => {
  it("places STATE, KERN-A, ROOT-A, rootfs in that order", () => {
    expect(layoutImage(req).partitions.map((p) => [p.index, p.role, p.label])).toEqual([
      [1, "state", "STATE"],
      [2, "kernel", "KERN-A"],
      [3, "bootloader", "ROOT-A"],
      [4, "rootfs", "shimboot_rootfs:nixos"],
    ]);
  });

  it("gives KERN-A exactly the shim's size, whatever it is", () => {
    expect(layoutImage(req).partitions[1]!.size).toBe(24576);
    expect(layoutImage({ ...req, kernelSectors: sectors(65536) }).partitions[1]!.size).toBe(65536);
  });

  it("puts the bootloader right after the kernel (kernel + 1)", () => {
    const p = layoutImage(req).partitions;
    expect(p.find((x) => x.role === "bootloader")!.index).toBe(p.find((x) => x.role === "kernel")!.index + 1);
  });

  it("marks only the kernel with successful=1 tries=5 priority=10", () => {
    const p = layoutImage(req).partitions;
    expect(p.filter((x) => x.attributes).map((x) => x.role)).toEqual(["kernel"]);
    expect(KERNEL_ATTRIBUTES).toEqual({ successful: 1, tries: 5, priority: 10 });
  });

  it("keeps the rootfs last when a vendor partition is added", () => {
    const p = layoutImage({ ...req, vendorBytes: bytes(16 * MiB) }).partitions;
    expect(p.map((x) => x.label)).toEqual(["STATE", "KERN-A", "ROOT-A", "shimboot_rootfs:vendor", "shimboot_rootfs:nixos"]);
  });

  it("aligns every partition to 1 MiB and leaves room for the backup GPT", () => {
    const l = layoutImage(req);
    for (const p of l.partitions) expect(p.start % ALIGN).toBe(0);
    const last = l.partitions[l.partitions.length - 1]!;
    expect(l.totalSectors - (last.start + last.size)).toBeGreaterThanOrEqual(33);
  });

  it("never overlaps partitions", () => {
    const p = layoutImage({ ...req, vendorBytes: bytes(5 * MiB + 1) }).partitions;
    for (let i = 1; i < p.length; i++) expect(p[i]!.start).toBeGreaterThanOrEqual(p[i - 1]!.start + p[i - 1]!.size);
  });

  it("names rootfs partitions shimboot_rootfs:<name>", () => {
    expect(rootfsPartitionName("my distro")).toBe("shimboot_rootfs:my distro");
  });
});

describe("sizes and identifiers", () => {
  it("sizes a file system above its content plus the requested free space", () => {
    const b = extFsBytes({ dataBytes: 100 * MiB, entries: 5000 }, { journal: true, free: 50 * MiB, minimum: 0 });
    expect(b).toBeGreaterThan(150 * MiB + journalBytes(150 * MiB));
    expect(b % MiB).toBe(0);
  });

  it("respects a minimum size", () => {
    expect(extFsBytes({ dataBytes: 0, entries: 1 }, { journal: false, free: 0, minimum: 4 * MiB })).toBe(4 * MiB);
  });

  it("derives the same UUID from the same seed and purpose, a different one otherwise", () => {
    expect(derivedUuid("seed", "disk")).toBe(derivedUuid("seed", "disk"));
    expect(derivedUuid("seed", "disk")).not.toBe(derivedUuid("seed", "fs:rootfs"));
    expect(derivedUuid("seed", "disk")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("cuts ext4 labels to 16 bytes without splitting a character", () => {
    expect(fsLabel("a-very-long-rootfs-name")).toBe("a-very-long-root");
    expect(Buffer.byteLength(fsLabel("ééééééééé"))).toBe(16);
  });
});
