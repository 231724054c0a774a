// The build plan: a plain value computed from what was read, before a byte
// is written. `shimboot build --dry-run` prints it; tests inspect it.
import type { KernelPolicy } from "../boards.js";
import type { DriverHarvest } from "../read/drivers.js";
import type { RootfsInput } from "../read/rootfs-input.js";
import { MiB, toBytes, type Bytes, type Sectors } from "../lib/units.js";
import { derivedUuid } from "./ids.js";
import { layoutImage, type LayoutPartition, STATE_BYTES } from "./layout.js";
import { checkImageGrowth, planImageFeatures } from "./rootfs-features.js";
import { extFsBytes, inodeCount, type Content } from "./sizes.js";

export type DriversMode = "inject" | "vendor" | "none";

export interface ExtFsPlan {
  type: "ext2" | "ext4";
  features: string[];
  blockSize: 1024 | 4096;
  uuid: string;
  hashSeed: string;
  label: string;
  /** minimum inode count (mke2fs -N), null for mke2fs's default */
  inodes: number | null;
  reservedPercent: number;
}

export type PartitionContent =
  | { kind: "state"; fs: ExtFsPlan }
  | { kind: "kernel"; from: string; offset: Bytes; length: Bytes }
  | { kind: "bootloader"; fs: ExtFsPlan; entries: number; dataBytes: number }
  | { kind: "vendor"; fs: ExtFsPlan }
  | { kind: "rootfs-dir"; fs: ExtFsPlan; from: string; entries: number; dataBytes: number }
  | { kind: "rootfs-image"; from: string; fsBytes: Bytes; features: string[]; removeFeatures: string[] };

export interface PlannedPartition extends LayoutPartition {
  uuid: string;
  bytes: Bytes;
  content: PartitionContent;
}

export interface Plan {
  out: string;
  diskGuid: string;
  totalSectors: Sectors;
  totalBytes: Bytes;
  /** rough bytes the sparse image will occupy on disk */
  estimatedAllocatedBytes: Bytes;
  sourceDateEpoch: number;
  board: { name: string; known: boolean };
  kernel: { release: string; version: string; arch: string };
  policy: KernelPolicy;
  drivers: { mode: DriversMode; moduleRelease: string | null; modules: number; firmwareFiles: number; conflicts: { path: string; from: string[] }[]; modprobeFiles: string[] };
  rootfsName: string;
  /** what goes into the rootfs besides its own content */
  inject: { drivers: boolean; wifiNetworks: string[] };
  bootloader: { timeout: number; defaultEntry: string };
  partitions: PlannedPartition[];
}

export interface PlanInput {
  out: string;
  seed: string;
  sourceDateEpoch: number;
  board: { name: string; known: boolean };
  kernel: { release: string; version: string; arch: string; partitionPath: string; offset: Bytes; sectors: Sectors };
  policy: KernelPolicy;
  bootloaderContent: Content;
  drivers: DriverHarvest | null;
  driversMode: DriversMode;
  rootfs: RootfsInput;
  rootfsName: string;
  extraSpace: Bytes;
  wifiNetworks: string[];
  bootTimeout: number;
}

/** ext4 labels hold 16 bytes. */
export function fsLabel(name: string): string {
  let out = "";
  for (const ch of name) {
    if (Buffer.byteLength(out + ch) > 16) break;
    out += ch;
  }
  return out;
}

/** Bytes of new block groups an image needs so that its free inodes hold `entries` more. */
function inodeGrowth(img: Extract<RootfsInput, { kind: "image" }>, entries: number): number {
  const missing = inodeCount({ dataBytes: 0, entries }) - img.freeInodes;
  if (missing <= 0 || img.inodesPerGroup <= 0) return 0;
  return Math.ceil(missing / img.inodesPerGroup) * img.blocksPerGroup * img.blockSize;
}

export function makePlan(i: PlanInput): Plan {
  const ext = (purpose: string, type: "ext2" | "ext4", label: string, extra: Partial<ExtFsPlan> = {}): ExtFsPlan => ({
    type,
    features: type === "ext2" ? i.policy.ext2Features : i.policy.ext4Features,
    blockSize: 4096,
    uuid: derivedUuid(i.seed, `fs:${purpose}`),
    hashSeed: derivedUuid(i.seed, `hash-seed:${purpose}`),
    label,
    inodes: null,
    reservedPercent: 0,
    ...extra,
  });
  const drivers = i.driversMode === "none" ? null : i.drivers;
  const driverContent: Content = drivers ? { dataBytes: drivers.bytes, entries: drivers.entries } : { dataBytes: 0, entries: 0 };
  const injectDrivers = i.driversMode === "inject" && !!drivers;
  const wifiBytes = i.wifiNetworks.length * 4096;

  const bootloaderBytes = extFsBytes(i.bootloaderContent, { journal: false, free: MiB, minimum: 4 * MiB });
  const vendorBytes = i.driversMode === "vendor" && drivers ? extFsBytes(driverContent, { journal: false, free: 4 * MiB, minimum: 8 * MiB }) : null;
  const injected: Content = { dataBytes: (injectDrivers ? driverContent.dataBytes : 0) + wifiBytes, entries: (injectDrivers ? driverContent.entries : 0) + i.wifiNetworks.length + 8 };
  let rootfsBytes: Bytes;
  let rootfsContent: PartitionContent;
  const label = fsLabel(i.rootfsName);
  if (i.rootfs.kind === "dir") {
    const c: Content = { dataBytes: i.rootfs.dataBytes + injected.dataBytes, entries: i.rootfs.listing.names.length + injected.entries };
    rootfsBytes = extFsBytes(c, { journal: true, free: i.extraSpace, minimum: 32 * MiB });
    rootfsContent = { kind: "rootfs-dir", fs: ext("rootfs", "ext4", label, { inodes: inodeCount(c), reservedPercent: 1 }), from: i.rootfs.path, entries: i.rootfs.listing.names.length, dataBytes: i.rootfs.dataBytes };
  } else {
    const fsBytes = (i.rootfs.blockSize * i.rootfs.blockCount) as Bytes;
    const f = planImageFeatures(i.rootfs.path, i.rootfs.features, i.policy);
    const grow = Math.max(extFsBytes(injected, { journal: false, free: i.extraSpace, minimum: 0 }), inodeGrowth(i.rootfs, injected.entries));
    rootfsBytes = (Math.ceil((fsBytes + grow) / MiB) * MiB) as Bytes;
    checkImageGrowth(i.rootfs.path, f.features, i.rootfs.blockSize, rootfsBytes);
    rootfsContent = { kind: "rootfs-image", from: i.rootfs.path, fsBytes, features: f.features, removeFeatures: f.remove };
  }

  const layout = layoutImage({ kernelSectors: i.kernel.sectors, bootloaderBytes, vendorBytes, rootfsBytes, rootfsName: i.rootfsName });
  const contentOf = (role: LayoutPartition["role"]): PartitionContent => {
    switch (role) {
      case "state":
        return { kind: "state", fs: ext("state", "ext4", "STATE", { blockSize: 1024, features: i.policy.ext4Features.filter((f) => f !== "has_journal" && f !== "orphan_file"), inodes: 64 }) };
      case "kernel":
        return { kind: "kernel", from: i.kernel.partitionPath, offset: i.kernel.offset, length: toBytes(i.kernel.sectors) };
      case "bootloader":
        return { kind: "bootloader", fs: ext("bootloader", "ext2", "ROOT-A", { inodes: inodeCount(i.bootloaderContent) }), entries: i.bootloaderContent.entries, dataBytes: i.bootloaderContent.dataBytes };
      case "vendor":
        return { kind: "vendor", fs: ext("vendor", "ext4", "vendor", { inodes: inodeCount(driverContent) }) };
      case "rootfs":
        return rootfsContent;
    }
  };
  const partitions = layout.partitions.map((p) => ({ ...p, uuid: derivedUuid(i.seed, `partition:${p.role}`), bytes: toBytes(p.size), content: contentOf(p.role) }));
  const rootfsData = i.rootfs.kind === "dir" ? i.rootfs.dataBytes : (i.rootfs.blockCount - i.rootfs.freeBlocks) * i.rootfs.blockSize;
  const estimatedAllocatedBytes = (toBytes(i.kernel.sectors) + i.bootloaderContent.dataBytes + driverContent.dataBytes + rootfsData + STATE_BYTES + 64 * MiB) as Bytes;
  return {
    out: i.out,
    diskGuid: derivedUuid(i.seed, "disk"),
    totalSectors: layout.totalSectors,
    totalBytes: toBytes(layout.totalSectors),
    estimatedAllocatedBytes,
    sourceDateEpoch: i.sourceDateEpoch,
    board: i.board,
    kernel: { release: i.kernel.release, version: i.kernel.version, arch: i.kernel.arch },
    policy: i.policy,
    drivers: {
      mode: i.driversMode,
      moduleRelease: drivers?.moduleRelease ?? null,
      modules: drivers?.modules ?? 0,
      firmwareFiles: drivers?.firmwareFiles ?? 0,
      conflicts: drivers?.conflicts ?? [],
      modprobeFiles: drivers?.modprobeFiles ?? [],
    },
    rootfsName: i.rootfsName,
    inject: { drivers: injectDrivers, wifiNetworks: i.wifiNetworks },
    bootloader: { timeout: i.bootTimeout, defaultEntry: i.rootfsName },
    partitions,
  };
}
