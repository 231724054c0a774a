// Contract item 3: p2 is the shim's signed kernel, bootable as it stands.
import { createHash } from "node:crypto";
import { UserError } from "../lib/errors.js";
import { toBytes } from "../lib/units.js";
import { KERNEL_ATTRIBUTES, MAX_KERNEL_PARTITION_BYTES, TYPE_GUID } from "../contract.js";
import { decodeAttributes, type Partition } from "../read/gpt.js";
import type { ImageFile } from "../read/image-file.js";
import { readKernel, type KernelInfo } from "../read/kernel.js";
import { vbootProblem, type KernelSignature } from "../read/vboot-signature.js";
import { where, type CheckList } from "./check.js";

export const KERNEL_INDEX = 2;
/** What the known-good shimboot images carry (DESIGN.md §2). */

const W = where(KERNEL_INDEX, "kernel");

/** A shim's KERN-A, for the byte-for-byte comparison. */
export interface ShimKernel {
  image: ImageFile;
  partition: Partition;
}

/**
 * What build already knows of the shim's KERN-A: the kernel it read from
 * bytes with this SHA-256, and futility's verdict on bytes with a SHA-256.
 * Where p2 hashes the same, those hold for p2 and are not worked out again.
 */
export interface KnownKernel {
  sha256: string;
  info: KernelInfo;
  signature: Promise<KernelSignature>;
}

export async function checkKernel(img: ImageFile, partitions: Partition[], list: CheckList, shim: ShimKernel | null, known: KnownKernel | null = null): Promise<KernelInfo | null> {
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
  // One pass over p2: its SHA-256, and the comparison with the shim's KERN-A. Where build
  // knows that KERN-A's SHA-256, p2 hashing the same is the comparison; the shim is read
  // again only to say where they differ.
  const pass = await digestAndCompare(img, p, known ? null : shim);
  const reused = known && pass.sha256 === known.sha256;
  const comparison = !shim || !known ? pass.comparison : reused && shim.partition.size === p.size ? SAME : (await digestAndCompare(img, p, shim)).comparison;
  let bytes: Buffer | null = null;
  const whole = async () => (bytes ??= await img.read(toBytes(p.start), toBytes(p.size)));
  let kernel: KernelInfo | null = null;
  try {
    // the very bytes build read the shim's kernel from: the same kernel
    kernel = reused ? known.info : await readKernel(await whole(), W);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    list.fail("p2-vboot", `${W}: ${e.message}`, p.index);
  }
  if (kernel) {
    const judged = known && (await known.signature);
    const bad = judged && judged.sha256 === pass.sha256 ? judged.problem : await vbootProblem(await whole());
    if (bad) list.fail("p2-vboot", `${W}: the vboot blob does not verify: ${bad}`, p.index);
    else list.pass("p2-vboot", `${W}: vboot kernel blob verifies (${kernel.arch} ${kernel.format}, release ${kernel.release ?? "unknown"})`, p.index);
  }
  if (shim) reportComparison(p, shim, comparison, list);
  return kernel;
}

const CHUNK = 1024 * 1024;

type Comparison = { same: true } | { same: false; size: true } | { same: false; size: false; at: number; mine: number; theirs: number };
const SAME: Comparison = { same: true };

/** p2's SHA-256 and, with a shim, where p2 first differs from its KERN-A: one read of each. */
async function digestAndCompare(img: ImageFile, p: Partition, shim: ShimKernel | null): Promise<{ sha256: string; comparison: Comparison }> {
  const h = createHash("sha256");
  const total = toBytes(p.size);
  const s = shim?.partition;
  let comparison: Comparison = s && s.size !== p.size ? { same: false, size: true } : { same: true };
  const bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)] as const;
  for (let off = 0; off < total; off += CHUNK) {
    const n = Math.min(CHUNK, total - off);
    const compare: boolean = !!shim && !!s && comparison.same;
    const [mine, theirs]: [Buffer, Buffer | null] = await Promise.all([img.read(toBytes(p.start) + off, n, bufs[0]), compare ? shim!.image.read(toBytes(s!.start) + off, n, bufs[1]) : null]);
    h.update(mine);
    if (theirs && !mine.equals(theirs)) {
      let i = 0;
      while (mine[i] === theirs[i]) i++;
      comparison = { same: false, size: false, at: off + i, mine: mine[i]!, theirs: theirs[i]! };
    }
  }
  return { sha256: h.digest("hex"), comparison };
}

/** p2 must be the shim's KERN-A byte for byte: the firmware checks its signature. */
function reportComparison(p: Partition, shim: ShimKernel, c: Comparison, list: CheckList) {
  const s = shim.partition;
  const shimName = `${shim.image.path} partition ${s.index} (${s.label || "kernel"})`;
  const hex = (b: number) => `0x${b.toString(16).padStart(2, "0")}`;
  if (c.same) list.pass("p2-shim-kernel", `${W}: identical to the shim's KERN-A (${shimName}), ${toBytes(p.size)} bytes`, p.index);
  else if (c.size) list.fail("p2-shim-kernel", `${W}: is ${p.size} sectors but the shim's KERN-A (${shimName}) is ${s.size}; the partition must be an exact copy`, p.index);
  else list.fail("p2-shim-kernel", `${W}: differs from the shim's KERN-A (${shimName}) at byte ${c.at} of the partition (${hex(c.mine)} here, ${hex(c.theirs)} in the shim); copy it unchanged`, p.index);
}
