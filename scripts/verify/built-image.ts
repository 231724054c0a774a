// Build's own check of the image it just wrote: every contract item must
// pass; a failure is a bug in shimboot, not in the user's input.
import type { Partition } from "../read/gpt.js";
import { verifyImage } from "./verify.js";

export async function verifyBuiltImage(image: string, shim: string, shimKernelPartition: Partition): Promise<void> {
  const v = await verifyImage(image, { shim, shimKernelPartition });
  if (v.ok) return;
  const failed = v.checks.filter((c) => !c.ok).map((c) => `${c.id}: ${c.message}`);
  // one line: the internal-error report shows the first line of a message
  throw new Error(`the written image failed verification: ${failed.join("; ")}`);
}
