// Contract item 3: p2 is the shim's signed kernel, bootable as it stands.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../lib/errors.js";
import { run } from "../lib/exec.js";
import { toBytes } from "../lib/units.js";
import { KERNEL_ATTRIBUTES, MAX_KERNEL_PARTITION_BYTES, TYPE_GUID } from "../contract.js";
import { decodeAttributes, type Partition } from "../read/gpt.js";
import type { ImageFile } from "../read/image-file.js";
import { readKernel, type KernelInfo } from "../read/kernel.js";
import { where, type CheckList } from "./check.js";

export const KERNEL_INDEX = 2;
/** What the known-good shimboot images carry (DESIGN.md §2). */

const W = where(KERNEL_INDEX, "kernel");

/** A shim's KERN-A, for the byte-for-byte comparison. */
export interface ShimKernel {
  image: ImageFile;
  partition: Partition;
}

export async function checkKernel(img: ImageFile, partitions: Partition[], list: CheckList, shim: ShimKernel | null): Promise<KernelInfo | null> {
  const p = partitions.find((x) => x.index === KERNEL_INDEX);
  if (!p) {
    list.fail("p2-type", `${W}: no partition 2; the kernel must be partition 2`);
    return null;
  }
  if (p.type !== TYPE_GUID.chromeosKernel) {
    list.fail("p2-type", `${W}: type is ${p.typeName}, must be ChromeOS kernel (${TYPE_GUID.chromeosKernel})`, p.index);
    return null;
  }
  list.pass("p2-type", `${W}: type ChromeOS kernel`, p.index);

  const a = decodeAttributes(p.attributes);
  const want = KERNEL_ATTRIBUTES;
  const attrs = (x: { successful: number; tries: number; priority: number }) => `successful=${x.successful} tries=${x.tries} priority=${x.priority}`;
  if (a.successful === want.successful && a.tries === want.tries && a.priority === want.priority) list.pass("p2-attributes", `${W}: attributes ${attrs(a)}`, p.index);
  else list.fail("p2-attributes", `${W}: attributes are ${attrs(a)}, must be ${attrs(want)} (cgpt add -i 2 -S 1 -T 5 -P 10)`, p.index);

  if (toBytes(p.size) > MAX_KERNEL_PARTITION_BYTES) {
    list.fail("p2-vboot", `${W}: is ${Math.round(toBytes(p.size) / 2 ** 20)} MiB, larger than any ChromeOS kernel partition (at most ${MAX_KERNEL_PARTITION_BYTES / 2 ** 20} MiB)`, p.index);
    return null;
  }
  const bytes = await img.read(toBytes(p.start), toBytes(p.size));
  let kernel: KernelInfo | null = null;
  try {
    kernel = await readKernel(bytes, W);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    list.fail("p2-vboot", `${W}: ${e.message}`, p.index);
  }
  if (kernel) {
    const bad = await futilityVerify(bytes);
    if (bad) list.fail("p2-vboot", `${W}: the vboot blob does not verify: ${bad}`, p.index);
    else list.pass("p2-vboot", `${W}: vboot kernel blob verifies (${kernel.arch} ${kernel.format}, release ${kernel.release ?? "unknown"})`, p.index);
  }
  if (shim) await compareWithShim(img, p, shim, list);
  return kernel;
}

/** futility checks the keyblock hash and the preamble and body signatures; null when it passes. */
async function futilityVerify(bytes: Buffer): Promise<string | null> {
  const dir = await mkdtemp(join(tmpdir(), "shimboot-verify-"));
  try {
    const file = join(dir, "kernel.bin");
    await writeFile(file, bytes);
    const r = await run("futility", ["vbutil_kernel", "--verify", file]);
    if (r.exitCode === 0) return null;
    const msg = `${r.stderr}\n${r.stdout}`.split("\n").map((l) => l.trim()).filter((l) => /error|fail|invalid|bad/i.test(l));
    return msg.join("; ") || `futility exit ${r.exitCode}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const CHUNK = 1024 * 1024;

/** p2 must be the shim's KERN-A byte for byte: the firmware checks its signature. */
async function compareWithShim(img: ImageFile, p: Partition, shim: ShimKernel, list: CheckList) {
  const s = shim.partition;
  const shimName = `${shim.image.path} partition ${s.index} (${s.label || "kernel"})`;
  if (p.size !== s.size) {
    list.fail("p2-shim-kernel", `${W}: is ${p.size} sectors but the shim's KERN-A (${shimName}) is ${s.size}; the partition must be an exact copy`, p.index);
    return;
  }
  const total = toBytes(p.size);
  for (let off = 0; off < total; off += CHUNK) {
    const n = Math.min(CHUNK, total - off);
    const [mine, theirs] = await Promise.all([img.read(toBytes(p.start) + off, n), shim.image.read(toBytes(s.start) + off, n)]);
    if (!mine.equals(theirs)) {
      let i = 0;
      while (mine[i] === theirs[i]) i++;
      list.fail("p2-shim-kernel", `${W}: differs from the shim's KERN-A (${shimName}) at byte ${off + i} of the partition (0x${mine[i]!.toString(16).padStart(2, "0")} here, 0x${theirs[i]!.toString(16).padStart(2, "0")} in the shim); copy it unchanged`, p.index);
      return;
    }
  }
  list.pass("p2-shim-kernel", `${W}: identical to the shim's KERN-A (${shimName}), ${total} bytes`, p.index);
}
