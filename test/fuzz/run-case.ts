// One fuzz case: damage a working copy of a fixture (or a decoded layer),
// run what `shimboot build` runs on that input, and classify the outcome:
// read fine, refused with a clear error (UserError, exit 1, the file
// named), or anything else (an internal error). The copy is restored after.
import { $ } from "zx";
import { mkdir, open, rm, truncate } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../../scripts/lib/errors.js";
import { resolveTarget } from "../../scripts/plan/target.js";
import type { Shim } from "../../scripts/read/build-inputs.js";
import { initramfsNotables, readChromeOsImage, readRootfs, readShim } from "../../scripts/read/chromeos-image.js";
import { readPartitionTable } from "../../scripts/read/gpt.js";
import { ImageFile } from "../../scripts/read/image-file.js";
import { CpioError, parseCpio } from "../../scripts/read/cpio.js";
import { harvestDrivers } from "../../scripts/read/drivers.js";
import { findInitramfs } from "../../scripts/read/initramfs.js";
import { readKernel } from "../../scripts/read/kernel.js";
import { bootloaderContent, stageBootloaderTree } from "../../scripts/write/bootloader-tree.js";
import { applyEdits, type Applied, type Case } from "./mutations.js";
import { KERNEL_REGIONS, type Region, type Target } from "./targets.js";

export type Verdict = "ok" | "clean" | "internal";

export interface Outcome {
  verdict: Verdict;
  /** the error's one line, for clean and internal outcomes */
  message: string;
  ms: number;
}

/** A working copy of each target, damaged and restored in place. */
export class Workbench {
  private constructor(
    readonly dir: string,
    private readonly copies: Map<string, string>,
    readonly pristineShim: Target | null,
  ) {}

  /** the first readable shim, opened once: the recovery cases harvest against it */
  pristineShimImage: Shim | null = null;

  static async create(dir: string, targets: Target[]): Promise<Workbench> {
    await mkdir(dir, { recursive: true });
    const copies = new Map<string, string>();
    for (const t of targets) {
      const copy = join(dir, `${t.variant}.bin`);
      await $`cp --sparse=always ${t.path} ${copy}`;
      copies.set(t.variant, copy);
    }
    const bench = new Workbench(dir, copies, targets.find((t) => t.role === "shim" && t.release) ?? null);
    if (bench.pristineShim) bench.pristineShimImage = await readShim(bench.pristineShim.path);
    return bench;
  }

  private readonly cached = new Map<string, Buffer>();

  /** A fresh copy of the pristine bytes at [offset, offset + length) (read once per target). */
  async pristine(t: Target, offset: number, length: number): Promise<Buffer> {
    const key = `${t.variant}@${offset}+${length}`;
    let b = this.cached.get(key);
    if (!b) {
      const fh = await open(t.path, "r");
      try {
        b = Buffer.alloc(length);
        await fh.read(b, 0, length, offset);
      } finally {
        await fh.close();
      }
      this.cached.set(key, b);
    }
    return Buffer.from(b);
  }

  copyOf(t: Target): string {
    return this.copies.get(t.variant)!;
  }

  /** Puts the changed bytes back (a cut file is copied again). */
  async restore(t: Target, applied: Applied): Promise<void> {
    if (applied.cutAt !== null) {
      await $`cp --sparse=always ${t.path} ${this.copyOf(t)}`;
      return;
    }
    const fh = await open(this.copyOf(t), "r+");
    try {
      for (const { offset, before } of [...applied.changed].reverse()) await fh.write(before, 0, before.length, offset);
    } finally {
      await fh.close();
    }
  }
}

const isClean = (e: unknown, named: string) => e instanceof UserError && e.exitCode === 1 && `${e.subject ?? ""} ${e.message}`.includes(named);

export async function runCase(bench: Workbench, t: Target, c: Case): Promise<Outcome> {
  const region = t.regions.find((r) => r.name === c.region);
  if (!region) throw new Error(`${t.variant} has no region ${c.region}`);
  const t0 = performance.now();
  const done = (verdict: Verdict, message = ""): Outcome => ({ verdict, message, ms: performance.now() - t0 });
  const layer = c.region === "initramfs-stream" || c.region === "cpio-headers";
  const named = layer ? "" : bench.copyOf(t);
  const kernel = (KERNEL_REGIONS as readonly string[]).includes(c.region);
  try {
    if (layer) await runLayer(bench, t, c, region);
    else if (kernel) await runKernel(bench, t, c, region);
    else await runImage(bench, t, c, region);
    return done("ok");
  } catch (e) {
    const line = (e instanceof UserError ? e.format() : e instanceof Error ? `${e.name}: ${e.message}` : String(e)).split("\n")[0]!;
    if (layer ? e instanceof UserError || e instanceof CpioError : isClean(e, named)) return done("clean", line);
    return done("internal", e instanceof Error && e.stack ? e.stack.split("\n").slice(0, 4).join(" | ") : line);
  }
}

/** The image as build reads it: the shim (or recovery), its board and kernel, and its drivers when ROOT-A may have changed. */
async function runImage(bench: Workbench, t: Target, c: Case, region: Region) {
  const path = bench.copyOf(t);
  const fh = await open(path, "r+");
  let applied;
  try {
    const io = {
      read: async (off: number, len: number) => {
        const b = Buffer.alloc(len);
        await fh.read(b, 0, len, off);
        return b;
      },
      write: async (off: number, b: Buffer) => void (await fh.write(b, 0, b.length, off)),
    };
    applied = await applyEdits(c, region, io);
  } finally {
    await fh.close();
  }
  if (applied.cutAt !== null) await truncate(path, applied.cutAt);
  const work = join(bench.dir, "work");
  try {
    if (c.region === "rootfs-superblock") await runRootfs(bench, t, path, work);
    else if (t.role === "shim") {
      const shim = await readShim(path);
      try {
        const target = await resolveTarget(shim, path, undefined);
        const moved = shim.rootPartition?.start !== t.root?.start || shim.rootPartition?.size !== t.root?.size;
        if (shim.rootfs && (moved || target.release !== t.release)) {
          await rm(work, { recursive: true, force: true });
          await mkdir(work, { recursive: true });
          await harvestDrivers({ work, shimRoot: shim.rootfs.fs, kernelRelease: target.release, recoveryRoot: null, extraFirmware: null });
        }
      } finally {
        await shim.close();
      }
    } else {
      const recovery = await readChromeOsImage(path);
      try {
        if (!recovery.rootfs) throw new UserError(path, "is not a ChromeOS image with a readable ROOT-A", "pass the unzipped official recovery image for this board");
        const shim = bench.pristineShimImage;
        const moved = recovery.rootPartition?.start !== t.root?.start || recovery.rootPartition?.size !== t.root?.size;
        if (shim && moved) {
          await rm(work, { recursive: true, force: true });
          await mkdir(work, { recursive: true });
          await harvestDrivers({ work, shimRoot: shim.rootfs!.fs, kernelRelease: shim.kernel.release, recoveryRoot: recovery.rootfs.fs, extraFirmware: null });
        }
      } finally {
        await recovery.close();
      }
    }
  } finally {
    await bench.restore(t, applied);
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Damage inside ROOT-A: its partition read as readChromeOsImage reads it
 * (the kernel is the pristine one, already read), then the drivers
 * harvested from it as build does, for a shim's ROOT-A or a recovery's.
 */
async function runRootfs(bench: Workbench, t: Target, path: string, work: string) {
  const shim = bench.pristineShimImage;
  const img = await ImageFile.open(path);
  try {
    const table = await readPartitionTable(img);
    const root = table.partitions.find((p) => p.start === t.root?.start);
    const rootfs = root ? await readRootfs(img, root) : null;
    if (!rootfs) throw new UserError(path, t.role === "shim" ? "ROOT-A is not readable, so there are no drivers to harvest" : "is not a ChromeOS image with a readable ROOT-A");
    if (!shim) return;
    // as resolveTarget: the kernel's own release, else ROOT-A's only one
    const release = t.role === "shim" ? (t.release ?? rootfs.moduleReleases[0] ?? null) : shim.kernel.release;
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    await harvestDrivers({ work, shimRoot: t.role === "shim" ? rootfs.fs : shim.rootfs!.fs, kernelRelease: release, recoveryRoot: t.role === "shim" ? null : rootfs.fs, extraFirmware: null });
  } finally {
    await img.close();
  }
}

/**
 * Damage inside KERN-A: the kernel reader on the partition's bytes, as
 * readChromeOsImage hands them to it; a corrupt initramfs is refused there
 * with the partition named. A damaged header can name another kernel
 * release: the board table and the drivers are then looked up for it.
 */
async function runKernel(bench: Workbench, t: Target, c: Case, region: Region) {
  const path = bench.copyOf(t);
  const { offset, length } = t.kernel!;
  const part = await bench.pristine(t, offset, length);
  // region offsets are file offsets: edit the partition's copy at offset - partition start
  await applyEdits(c, region, { read: async (off, len) => Buffer.from(part.subarray(off - offset, off - offset + len)), write: async (off, b) => void b.copy(part, off - offset) });
  const where = `${path} partition 2 (KERN-A)`;
  const k = await readKernel(part, where);
  if (!k.initramfs.found && k.initramfs.reason === "corrupt") throw new UserError(where, `kernel's built-in initramfs is corrupt: ${k.initramfs.detail}`);
  const shim = bench.pristineShimImage;
  if (t.role === "shim" && k.release !== t.release && shim) {
    const target = await resolveTarget({ ...shim, kernel: k }, path, undefined);
    const work = join(bench.dir, "work");
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    try {
      // a pristine ROOT-A, named as the damaged copy's (in a build, kernel and ROOT-A are one file)
      const shimRoot = { ...shim.rootfs!.fs, where: `${path} partition 3 (ROOT-A)` };
      await harvestDrivers({ work, shimRoot, kernelRelease: target.release, recoveryRoot: null, extraFirmware: null });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}

/** A damaged initramfs stream or cpio archive, decoded as the reader does, then staged as build stages partition 3. */
async function runLayer(bench: Workbench, t: Target, c: Case, region: Region) {
  const base = c.region === "initramfs-stream" ? t.vmlinux! : t.cpio!;
  const buf = Buffer.from(base);
  await applyEdits(c, region, { read: async (off, len) => Buffer.from(buf.subarray(off, off + len)), write: async (off, b) => void b.copy(buf, off) });
  let entries;
  if (c.region === "initramfs-stream") {
    const r = await findInitramfs(buf);
    if (!r.found) return; // the reader reports it (a clear error for a shim, a recovery image otherwise)
    entries = r.found.entries;
  } else entries = parseCpio(buf).entries;
  initramfsNotables(entries);
  const overlay = [{ path: "bin/init", content: "#!/bin/sh\n", mode: 0o755 }];
  bootloaderContent(entries, overlay);
  const dir = join(bench.dir, "stage");
  try {
    await stageBootloaderTree(dir, entries, overlay, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
