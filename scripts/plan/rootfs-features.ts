// The ext4 features of a --rootfs IMAGE against what the shim's kernel
// mounts read-write (nix/lib/kernel-policy.nix): a feature it does not mount
// is removed from the copy in the image (tune2fs, never the user's file)
// when e2fsprogs can remove it from an existing file system; otherwise the
// image is refused, saying which feature, which kernel, and what to do.
import type { KernelPolicy } from "../boards.js";
import { UserError } from "../lib/errors.js";
import { STATE_FLAGS } from "../read/extfs.js";

/** What `tune2fs -O ^FEATURE` removes from an unmounted file system (e2fsprogs ≥ 1.46). */
export const REMOVABLE = ["orphan_file", "metadata_csum_seed", "fast_commit", "project", "quota", "casefold", "mmp"];

export interface FeaturePlan {
  /** the features of the file system in the image */
  features: string[];
  /** removed from the copy with tune2fs before it is grown */
  remove: string[];
}

/** Features resize2fs cannot grow a file system with (1.47 miscounts bigalloc clusters: e2fsck then finds it damaged). */
export const CANNOT_GROW = ["bigalloc"];

export function planImageFeatures(path: string, features: string[], policy: KernelPolicy): FeaturePlan {
  const format = features.filter((f) => !STATE_FLAGS.includes(f));
  const stuck = format.filter((f) => CANNOT_GROW.includes(f));
  if (stuck.length) {
    throw new UserError(path, `--rootfs: the file system uses ${stuck.join(", ")}, which resize2fs cannot grow reliably, and the image must grow to its partition`, `make the image without it: mke2fs -t ext4 -O ${stuck.map((f) => `^${f}`).join(",")} …`);
  }
  const unmountable = format.filter((f) => !policy.ext4Mountable.includes(f));
  const fixed = unmountable.filter((f) => !REMOVABLE.includes(f));
  if (fixed.length) {
    const why = fixed.map((f) => {
      const since = policy.ext4FeatureSince[f];
      return since ? `${f} (needs kernel ${since})` : `${f} (no Linux kernel mounts it)`;
    });
    throw new UserError(
      path,
      `--rootfs: the shim's kernel ${policy.kernel} cannot mount this file system: ${why.join(", ")}, and e2fsprogs cannot remove ${fixed.length > 1 ? "these features" : "it"} from an existing file system`,
      `make the image again without ${fixed.length > 1 ? "them" : "it"}: mke2fs -t ext4 -O ${fixed.map((f) => `^${f}`).join(",")} …`,
    );
  }
  return { features: format.filter((f) => !unmountable.includes(f)), remove: unmountable };
}

/** A file system without 64bit counts blocks in 32 bits. */
export function checkImageGrowth(path: string, features: string[], blockSize: number, bytes: number): void {
  if (features.includes("64bit")) return;
  const max = (2 ** 32 - 1) * blockSize;
  if (bytes > max) {
    throw new UserError(path, `--rootfs: the file system has no 64bit feature, so it cannot grow to ${bytes} bytes (at most ${max} with ${blockSize}-byte blocks)`, "use a smaller --extra-space, or make the image with mke2fs -O 64bit");
  }
}
