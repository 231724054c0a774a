// `verifyImage`: checks a disk image against the shimboot contract
// (DESIGN.md §2), item by item. Bad input files (missing, a directory, a zip,
// a shim that is not an RMA shim) throw the readers' UserError; everything
// about the image itself becomes a check that passes or fails.
import { kernelVersionOf, loadBoardInfo } from "../boards.js";
import { readShim } from "../read/chromeos-image.js";
import { ImageFile } from "../read/image-file.js";
import type { Partition } from "../read/gpt.js";
import { CheckList, type VerifyResult } from "./check.js";
import type { KernelFeatures, VerifyContext } from "./context.js";
import { checkBootloader } from "./bootloader.js";
import { checkKernel, type ShimKernel } from "./kernel.js";
import { checkGpt, checkLayout } from "./layout.js";
import { checkRootfs } from "./rootfs.js";
import { checkState } from "./state.js";

export type { Check, VerifyResult } from "./check.js";

export interface VerifyOptions {
  /** the RMA shim the image was built from: p2 must equal its KERN-A */
  shim?: string;
  /** the shim's kernel partition when the caller has already read the shim (build does) */
  shimKernelPartition?: Partition;
}

export async function verifyImage(path: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const shim = !opts.shim ? null : opts.shimKernelPartition ? { image: await ImageFile.open(opts.shim), partition: opts.shimKernelPartition } : await openShimKernel(opts.shim);
  try {
    const img = await ImageFile.open(path);
    try {
      return await verifyOpen(img, shim);
    } finally {
      await img.close();
    }
  } finally {
    await shim?.image.close();
  }
}

async function openShimKernel(path: string): Promise<ShimKernel> {
  const shim = await readShim(path); // a recovery or shimboot image here is a user error
  const partition = shim.kernelPartition;
  await shim.close();
  return { image: await ImageFile.open(path), partition };
}

async function verifyOpen(img: ImageFile, shim: ShimKernel | null): Promise<VerifyResult> {
  const list = new CheckList();
  const partitions = await checkGpt(img, list);
  if (!partitions) return list.result();
  checkLayout(img, partitions, list);
  const kernel = await checkKernel(img, partitions, list, shim);
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
  const ctx: VerifyContext = { img, partitions, list, release, features };
  await checkState(ctx);
  await checkBootloader(ctx);
  await checkRootfs(ctx);
  return list.result();
}
