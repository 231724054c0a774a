// Reads a ChromeOS disk image completely, without root: partition table,
// KERN-A (vboot, kernel, built-in initramfs), ROOT-A (board, modules,
// firmware), and what kind of image it is.
import { MAX_KERNEL_PARTITION_BYTES, ROOTFS_PREFIX, TYPE_GUID } from "../contract.js";
import { UserError } from "../lib/errors.js";
import { toBytes } from "../lib/units.js";
import type { CpioEntry } from "./cpio.js";
import { debugfsBatch, extFsAt, listDirs, parseLs, walkTree, type ExtFs } from "./extfs.js";
import { readPartitionTable, type Partition, type PartitionTable } from "./gpt.js";
import { ImageFile } from "./image-file.js";
import { readKernel, type KernelInfo } from "./kernel.js";
import { readKernelPartition } from "./kernel-partition.js";
import { vbootProblem, type KernelSignature } from "./vboot-signature.js";
import { parseLsbRelease } from "./lsb-release.js";

export type ImageKind = "rma-shim" | "recovery" | "shimboot" | "not-chromeos";

export const KIND_DESCRIPTION: Record<ImageKind, string> = {
  "rma-shim": "ChromeOS RMA (factory) shim",
  recovery: "ChromeOS recovery image (a ChromeOS image without a factory-shim initramfs)",
  shimboot: "shimboot image",
  "not-chromeos": "not a ChromeOS disk image",
};


export interface RootfsInfo {
  partition: number;
  fs: ExtFs;
  lsbRelease: Record<string, string>;
  /** directories under lib/modules (kernel releases) */
  moduleReleases: string[];
}

/** What inspect adds about a ROOT-A (build harvests these itself). */
export interface RootfsInventory {
  firmwareFiles: number;
  hasModprobeD: { lib: boolean; etc: boolean };
}

export interface ChromeOsImage {
  path: string;
  size: number;
  kind: ImageKind;
  table: PartitionTable;
  kernelPartition: Partition | null;
  kernel: KernelInfo | null;
  /** SHA-256 of the kernel partition, whose vboot blob `kernel` was read from (close() waits for it) */
  kernelSha256: Promise<string> | null;
  /** futility's verdict on that blob, when asked for (ReadOptions.signature) */
  kernelSignature: Promise<KernelSignature> | null;
  rootPartition: Partition | null;
  rootfs: RootfsInfo | null;
  close(): Promise<void>;
}


/** ChromeOS names its first kernel and root slots KERN-A and ROOT-A; shimboot images keep the kernel as p2. */
function pick(table: PartitionTable, label: string, type: string): Partition | null {
  return table.partitions.find((p) => p.label === label && p.type === type) ?? table.partitions.find((p) => p.type === type && p.size > 1) ?? null;
}

export function initramfsNotables(entries: CpioEntry[]) {
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const has = (p: string) => byPath.has(p) || byPath.has(`bin/${p}`) || byPath.has(`sbin/${p}`) || byPath.has(`usr/bin/${p}`) || byPath.has(`usr/sbin/${p}`);
  return {
    busybox: has("busybox"),
    cgpt: has("cgpt"),
    freconLite: has("frecon-lite"),
    sbinToBin: byPath.get("sbin")?.target === "bin",
    usrToDot: byPath.get("usr")?.target === ".",
    bootstrapSh: byPath.has("bin/bootstrap.sh"),
    init: byPath.has("init") || byPath.has("bin/init"),
    devConsole: byPath.get("dev/console")?.kind === "char",
  };
}

/** Board and module releases of a ROOT-A, in one debugfs run; null when it holds no ext file system. */
export async function readRootfs(img: ImageFile, p: Partition): Promise<RootfsInfo | null> {
  const fs = extFsAt(img.path, p.start, `${img.path} partition ${p.index} (${p.label})`);
  const out = await debugfsBatch(fs, ['ls -p "/lib/modules"', 'cat "/etc/lsb-release"']);
  if (!out) return null;
  const [modules, lsb] = out as [string, string];
  return {
    partition: p.index,
    fs,
    lsbRelease: parseLsbRelease(lsb),
    moduleReleases: parseLs(modules).filter((e) => e.kind === "dir").map((e) => e.name).sort(),
  };
}

/** Firmware files and modprobe.d directories of a ROOT-A (for inspect). */
export async function rootfsInventory(rootfs: RootfsInfo): Promise<RootfsInventory> {
  const dirs = await listDirs(rootfs.fs, ["/lib/modprobe.d", "/etc/modprobe.d"]);
  const firmware = (await walkTree(rootfs.fs, "/lib/firmware")) ?? [];
  return { firmwareFiles: firmware.filter((e) => e.entry.kind !== "dir").length, hasModprobeD: { lib: dirs.has("/lib/modprobe.d"), etc: dirs.has("/etc/modprobe.d") } };
}

export interface ReadOptions {
  /**
   * false: skip the kernel (no decompression); the image is then taken for
   * a recovery image unless it is a shimboot image (build reads only the
   * recovery's ROOT-A).
   */
  kernel?: boolean;
  /**
   * true: futility judges the kernel partition's signature while the kernel
   * is decompressed, from the bytes already read (build; verify reuses it).
   */
  signature?: boolean;
}

export async function readChromeOsImage(path: string, opts: ReadOptions = {}): Promise<ChromeOsImage> {
  const img = await ImageFile.open(path);
  let pending: Promise<unknown> = Promise.resolve(); // a read still running in the background (the kernel partition's hash)
  const close = () => pending.then(() => img.close(), () => img.close());
  try {
    const table = await readPartitionTable(img);
    const isShimboot = table.partitions.some((p) => p.label.startsWith(ROOTFS_PREFIX));
    const kernelPartition = pick(table, "KERN-A", TYPE_GUID.chromeosKernel);
    const base = { path, size: img.size, table, close };
    if (!kernelPartition) {
      return { ...base, kind: isShimboot ? "shimboot" : "not-chromeos", kernelPartition: null, kernel: null, kernelSha256: null, kernelSignature: null, rootPartition: null, rootfs: null };
    }
    const rootPartition = isShimboot ? null : (table.partitions.find((p) => p.index === kernelPartition.index + 1 && p.type === TYPE_GUID.chromeosRootfs) ?? null);
    if (opts.kernel === false) {
      const rootfs = rootPartition ? await readRootfs(img, rootPartition) : null;
      return { ...base, kind: isShimboot ? "shimboot" : "recovery", kernelPartition, kernel: null, kernelSha256: null, kernelSignature: null, rootPartition, rootfs };
    }
    const where = `${path} partition ${kernelPartition.index} (${kernelPartition.label || "kernel"})`;
    // the kernel partition is read into memory: bound it (ChromeOS uses 16–64 MiB)
    if (toBytes(kernelPartition.size) > MAX_KERNEL_PARTITION_BYTES) {
      throw new UserError(where, `is ${Math.round(toBytes(kernelPartition.size) / 2 ** 20)} MiB, larger than any ChromeOS kernel partition (at most ${MAX_KERNEL_PARTITION_BYTES / 2 ** 20} MiB)`, "the partition table is damaged or this is not a ChromeOS image");
    }
    const { blob: bytes, sha256: kernelSha256 } = await readKernelPartition(img, kernelPartition);
    pending = kernelSha256; // the image stays open until the partition is hashed
    const kernelSignature = opts.signature ? Promise.all([vbootProblem(bytes), kernelSha256]).then(([problem, sha256]) => ({ sha256, problem })) : null;
    kernelSignature?.catch(() => {}); // awaited by whoever asked for it
    // ROOT-A's facts come from a debugfs process while the kernel decompresses
    const rootfsRead = rootPartition ? readRootfs(img, rootPartition) : Promise.resolve(null);
    rootfsRead.catch(() => {}); // awaited below
    const kernel = await readKernel(bytes, where);
    if (!kernel.initramfs.found && kernel.initramfs.reason === "corrupt") {
      throw new UserError(where, `kernel's built-in initramfs is corrupt: ${kernel.initramfs.detail}`, "the image is damaged; fetch it again");
    }
    const rootfs = await rootfsRead;
    const factory = kernel.initramfs.found && initramfsNotables(kernel.initramfs.found.entries).bootstrapSh;
    const kind: ImageKind = isShimboot ? "shimboot" : factory ? "rma-shim" : "recovery";
    return { ...base, kind, kernelPartition, kernel, kernelSha256, kernelSignature, rootPartition, rootfs };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * Opens an image that must be an RMA shim; every other kind is an error
 * that says what the file is instead.
 */
export async function readShim(path: string, opts: Pick<ReadOptions, "signature"> = {}): Promise<ChromeOsImage & { kernel: KernelInfo; kernelPartition: Partition }> {
  const image = await readChromeOsImage(path, opts);
  const fail = async (msg: string, hint: string): Promise<never> => {
    await image.close();
    throw new UserError(path, msg, hint);
  };
  if (image.kind === "not-chromeos") return fail("has a GPT but no ChromeOS kernel partition: not a ChromeOS image", "pass the unzipped RMA shim .bin");
  if (image.kind === "shimboot") return fail("is already a shimboot image, not an RMA shim", "pass the original RMA shim");
  const k = image.kernel!;
  if (!k.initramfs.found) {
    return fail(`kernel has no built-in initramfs (${k.initramfs.detail}): this looks like a recovery image, not an RMA shim`, "pass the RMA shim as --shim; a recovery image goes to --recovery");
  }
  if (image.kind === "recovery") return fail("kernel's initramfs is not a factory shim's (no bin/bootstrap.sh): this looks like a recovery image", "pass the RMA shim as --shim; a recovery image goes to --recovery");
  return image as ChromeOsImage & { kernel: KernelInfo; kernelPartition: Partition };
}
