// `verifyImage`: checks a disk image against the shimboot contract
// (DESIGN.md §2), item by item. Bad input files (missing, a directory, a zip,
// a shim that is not an RMA shim) throw the readers' UserError; everything
// about the image itself becomes a check that passes or fails.
import { kernelVersionOf, loadBoardInfo } from "../boards.js";
import { readShim } from "../read/chromeos-image.js";
import { ImageFile } from "../read/image-file.js";
import type { Partition } from "../read/gpt.js";
import { ROOTFS_PREFIX } from "../contract.js";
import { CheckList, type VerifyResult } from "./check.js";
import type { KernelFeatures, VerifyContext } from "./context.js";
import { BOOTLOADER_INDEX, checkBootloader, startBootloader } from "./bootloader.js";
import { extProbes } from "./ext-probe.js";
import { checkKernel, type KnownKernel, type ShimKernel } from "./kernel.js";
import { checkGpt, checkLayout } from "./layout.js";
import { checkRootfs, startRootfs } from "./rootfs.js";
import { checkState, startState } from "./state.js";

export type { Check, VerifyResult } from "./check.js";

export interface VerifyOptions {
  /** the RMA shim the image was built from: p2 must equal its KERN-A */
  shim?: string;
  /** the shim's kernel partition when the caller has already read the shim (build does) */
  shimKernelPartition?: Partition;
  /** what the caller knows of the shim's KERN-A (build), reused where p2 is the same bytes */
  knownKernel?: KnownKernel;
}

export async function verifyImage(path: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const read = !opts.shim ? null : opts.shimKernelPartition ? { shim: { image: await ImageFile.open(opts.shim), partition: opts.shimKernelPartition }, known: null } : await readShimKernel(opts.shim);
  try {
    const img = await ImageFile.open(path);
    try {
      return await verifyOpen(img, read?.shim ?? null, opts.knownKernel ?? read?.known ?? null);
    } finally {
      await img.close();
    }
  } finally {
    await read?.shim.image.close();
  }
}

/**
 * The shim's KERN-A, and what reading it taught (its kernel, futility's
 * verdict, judged while the kernel decompressed): a p2 of the same bytes is
 * not decompressed and judged a second time.
 */
async function readShimKernel(path: string): Promise<{ shim: ShimKernel; known: KnownKernel }> {
  const shim = await readShim(path, { signature: true }); // a recovery or shimboot image here is a user error
  await shim.close();
  const known: KnownKernel = { sha256: (await shim.kernelSha256)!, info: shim.kernel, signature: shim.kernelSignature! };
  return { shim: { image: await ImageFile.open(path), partition: shim.kernelPartition }, known };
}

async function verifyOpen(img: ImageFile, shim: ShimKernel | null, known: KnownKernel | null): Promise<VerifyResult> {
  const list = new CheckList();
  const partitions = await checkGpt(img, list);
  if (!partitions) return list.result();
  checkLayout(img, partitions, list);
  // The long part, e2fsck of each file system the checks look at, runs while p2 is checked,
  // and so do the debugfs runs that need no kernel release.
  const ext = extProbes(img.path);
  for (const p of partitions) if (p.index === 1 || p.index === BOOTLOADER_INDEX || p.label.startsWith(ROOTFS_PREFIX)) void ext(p).fsck();
  const early: VerifyContext = { img, partitions, list, release: null, features: null, ext };
  startState(early);
  startBootloader(early);
  const kernel = await checkKernel(img, partitions, list, shim, known);
  const release = kernel?.release ?? null;
  let features: KernelFeatures | null = null;
  if (kernel && !release) {
    list.fail("kernel-policy", "p2 kernel: the kernel does not name its release, so the file system features it mounts cannot be checked");
  } else if (release) {
    const version = kernelVersionOf(release);
    const policy = (await loadBoardInfo(version)).policy;
    if (policy) {
      features = { kernel: version, ext4: policy.ext4Mountable, ext2: policy.ext2Features };
      list.pass("kernel-policy", `p2 kernel: release ${release}; ext4 features it mounts: ${policy.ext4Mountable.join(" ")}`);
    }
  }
  const ctx: VerifyContext = { ...early, release, features };
  startRootfs(ctx);
  await checkState(ctx);
  await checkBootloader(ctx);
  await checkRootfs(ctx);
  return list.result();
}
