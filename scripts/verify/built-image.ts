// Build's own check of the image it just wrote: every contract item must
// pass; a failure is a bug in shimboot, not in the user's input — unless the
// root file system's check failed and the user's ext4 image is itself
// damaged, which is then what the user is told.
import type { Partition } from "../read/gpt.js";
import { damagedInput } from "../write/rootfs-image.js";
import type { KnownKernel } from "./kernel.js";
import { verifyImage } from "./verify.js";

export interface BuiltImage {
  shim: string;
  shimKernelPartition: Partition;
  /** the shim's KERN-A as build read it (p2 is compared with it, not read again) */
  knownKernel: KnownKernel;
  /** --rootfs when it is an ext4 image */
  rootfsImage: string | null;
}

export async function verifyBuiltImage(image: string, b: BuiltImage): Promise<void> {
  const v = await verifyImage(image, { shim: b.shim, shimKernelPartition: b.shimKernelPartition, knownKernel: b.knownKernel });
  if (v.ok) return;
  const failed = v.checks.filter((c) => !c.ok);
  if (b.rootfsImage && failed.some((c) => c.id === "rootfs-fs")) {
    const input = await damagedInput(b.rootfsImage);
    if (input) throw input;
  }
  // one line: the internal-error report shows the first line of a message
  throw new Error(`the written image failed verification: ${failed.map((c) => `${c.id}: ${c.message}`).join("; ")}`);
}
