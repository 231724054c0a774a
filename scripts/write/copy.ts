// Moving bytes into the image: a byte range (the shim's KERN-A, copied
// exactly) and an ext4 image (only its used blocks, with e2image).
import { open } from "node:fs/promises";
import { UserError } from "../lib/errors.js";
import { run } from "../lib/exec.js";
import type { Bytes } from "../lib/units.js";

const CHUNK = 4 * 1024 * 1024;

/** Copies `length` bytes from src@srcOffset to dest@destOffset; all-zero chunks stay holes. */
export async function copyRange(src: string, srcOffset: Bytes, dest: string, destOffset: Bytes, length: Bytes): Promise<void> {
  const s = await open(src, "r");
  const d = await open(dest, "r+");
  try {
    const buf = Buffer.alloc(CHUNK);
    for (let done = 0; done < length; ) {
      const n = Math.min(CHUNK, length - done);
      const { bytesRead } = await s.read(buf, 0, n, srcOffset + done);
      if (bytesRead !== n) throw new UserError(src, `ended early while copying bytes ${srcOffset + done}..${srcOffset + done + n}`, "the file is truncated");
      const chunk = buf.subarray(0, n);
      if (!isZero(chunk)) await d.write(chunk, 0, n, destOffset + done);
      done += n;
    }
  } finally {
    await s.close();
    await d.close();
  }
}

function isZero(b: Buffer): boolean {
  // compare 8 bytes at a time
  const words = Math.floor(b.length / 8);
  for (let i = 0; i < words; i++) if (b.readBigUInt64LE(i * 8) !== 0n) return false;
  for (let i = words * 8; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * Copies the used blocks of an ext4 image into the image at `destOffset`
 * (e2image -ra: free blocks are never read or written, so the result is
 * sparse). e2image shortens the destination to the end of the file system;
 * the caller extends it again.
 */
export async function copyExtImage(src: string, dest: string, destOffset: Bytes, showProgress = false): Promise<void> {
  // -p: e2image's own progress line, on a terminal only
  const r = await run("e2image", ["-ra", ...(showProgress ? ["-p"] : []), "-O", destOffset, src, dest], showProgress ? { stderr: "inherit" } : {});
  if (r.exitCode !== 0) {
    if (/No space left/i.test(r.stderr)) throw new UserError(dest, "no space left on the device holding the output", "free some space or choose --out on another file system");
    throw new Error(`e2image ${src}: ${r.stderr.trim()}`);
  }
}
