// A kernel partition read once, in slices: the SHA-256 of every byte, and in
// memory only the vboot blob (keyblock, preamble, body) that the kernel is
// read from and futility judges. A KERN-A is 16–64 MiB, mostly padding
// after a blob of a few MiB; on a VM where each first touch of a page costs
// ~20 µs (this project's, `npm run bench -- small`), reading all of it into
// fresh memory cost more than hashing it.
import { createHash } from "node:crypto";
import type { Partition } from "./gpt.js";
import type { ImageFile } from "./image-file.js";
import { toBytes } from "../lib/units.js";
import { vbootBlobLength } from "./vboot.js";

const SLICE = 1 << 20;
const HEADERS = 64 * 1024;

export interface KernelPartitionBytes {
  /** the partition's first bytes up to the end of the kernel body (all of it when the headers do not say) */
  blob: Buffer;
  /** SHA-256 of the whole partition */
  sha256: string;
}

export async function readKernelPartition(img: ImageFile, p: Partition): Promise<KernelPartitionBytes> {
  const start = toBytes(p.start);
  const size = toBytes(p.size);
  // the keyblock's, preamble's and body's sizes are in the first 64 KiB
  const claimed = vbootBlobLength(await img.read(start, Math.min(size, HEADERS)));
  // headers that do not fit are damage the full parse names: it gets the whole partition
  const keep = claimed === null || claimed > size ? size : Math.max(claimed, Math.min(size, HEADERS));
  const blob = await img.read(start, keep);
  const h = createHash("sha256").update(blob);
  const scratch = keep < size ? Buffer.allocUnsafe(Math.min(SLICE, size - keep)) : null;
  for (let at = keep; at < size; at += SLICE) {
    h.update(await img.read(start + at, Math.min(SLICE, size - at), scratch!));
  }
  return { blob, sha256: h.digest("hex") };
}
