// A kernel partition read once, in slices: the SHA-256 of every byte, and in
// memory only the vboot blob (keyblock, preamble, body) that the kernel is
// read from and futility judges. A KERN-A is 16–64 MiB, mostly padding
// after a blob of a few MiB; on a VM where each first touch of a page costs
// ~20 µs (this project's, `npm run bench -- small`), reading all of it into
// fresh memory cost more than hashing it. The padding is read and hashed
// once the caller has started decoding the blob: the main thread then only
// waits for the decompressor.
import { createHash, type Hash } from "node:crypto";
import type { Partition } from "./gpt.js";
import type { ImageFile } from "./image-file.js";
import { toBytes } from "../lib/units.js";
import { vbootBlobLength } from "./vboot.js";

const SLICE = 1 << 20;
const HEADERS = 64 * 1024;

export interface KernelPartitionBytes {
  /** the partition's first bytes up to the end of the kernel body (all of it when the headers do not say) */
  blob: Buffer;
  /** SHA-256 of the whole partition, read on after the blob is handed over */
  sha256: Promise<string>;
}

export async function readKernelPartition(img: ImageFile, p: Partition): Promise<KernelPartitionBytes> {
  const start = toBytes(p.start);
  const size = toBytes(p.size);
  // the keyblock's, preamble's and body's sizes are in the first 64 KiB
  const claimed = vbootBlobLength(await img.read(start, Math.min(size, HEADERS)));
  // headers that do not fit are damage the full parse names: it gets the whole partition
  const keep = claimed === null || claimed > size ? size : Math.max(claimed, Math.min(size, HEADERS));
  const blob = await img.read(start, keep);
  const sha256 = hashOn(img, createHash("sha256").update(blob), start + keep, size - keep);
  sha256.catch(() => {}); // awaited by whoever needs it
  return { blob, sha256 };
}

/** `h` continued over the n bytes at `from`, from the next turn of the event loop on. */
async function hashOn(img: ImageFile, h: Hash, from: number, n: number): Promise<string> {
  await new Promise((resolve) => setImmediate(resolve));
  const scratch = n > 0 ? Buffer.allocUnsafe(Math.min(SLICE, n)) : null;
  for (let at = 0; at < n; at += SLICE) h.update(await img.read(from + at, Math.min(SLICE, n - at), scratch!));
  return h.digest("hex");
}
