// Moving bytes into the image: a byte range (the shim's KERN-A, copied
// exactly), and an ext4 image's data extents by the kernel or its used
// blocks with e2image (moving a file system within the image). A whole image
// file copied and hashed in one pass is block-copy.ts.
import { open } from "node:fs/promises";
import { UserError } from "../lib/errors.js";
import { run } from "../lib/exec.js";
import type { Bytes } from "../lib/units.js";

const CHUNK = 1024 * 1024;

/** Copies `length` bytes from src@srcOffset to dest@destOffset; all-zero chunks stay holes. */
export async function copyRange(src: string, srcOffset: Bytes, dest: string, destOffset: Bytes, length: Bytes): Promise<void> {
  const s = await open(src, "r");
  const d = await open(dest, "r+");
  try {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, length));
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

/**
 * All zeros iff the first byte is and every byte equals the one before it:
 * one memcmp of the chunk against itself shifted by a byte, with no buffer
 * of zeros to fault in.
 */
export const isZero = (b: Buffer) => b.length === 0 || (b[0] === 0 && b.subarray(1).equals(b.subarray(0, b.length - 1)));

/** The data extents of a file (SEEK_DATA/SEEK_HOLE, as xfs_io's seek reports them). */
export async function dataExtents(path: string, signal?: AbortSignal): Promise<{ offset: number; length: number }[] | null> {
  const r = await run("xfs_io", ["-r", "-c", "seek -a -r 0", path], { signal });
  if (r.exitCode !== 0) return null;
  const out: { offset: number; length: number }[] = [];
  let data: number | null = null;
  for (const line of r.stdout.split("\n")) {
    const m = /^(DATA|HOLE)\s+(\d+)$/.exec(line.trim());
    if (!m) continue;
    const at = Number(m[2]);
    if (m[1] === "DATA") data = at;
    else if (data !== null) {
      out.push({ offset: data, length: at - data });
      data = null;
    }
  }
  return out;
}

/**
 * Copies a file's data extents into `dest` at `destOffset` with
 * copy_file_range (xfs_io copy_range): the kernel moves the bytes, holes stay
 * holes. Returns false when that is not possible here (no xfs_io, or the
 * kernel refuses a copy between these file systems), so the caller can fall
 * back to e2image.
 */
export async function copyDataExtents(src: string, dest: string, destOffset: Bytes, signal?: AbortSignal): Promise<boolean> {
  signal?.throwIfAborted();
  const extents = await dataExtents(src, signal).catch(() => null);
  if (!extents) return false;
  const BATCH = 512; // commands per xfs_io process, well under the argument limit
  for (let i = 0; i < extents.length; i += BATCH) {
    const cmds = extents.slice(i, i + BATCH).flatMap((e) => ["-c", `copy_range -s ${e.offset} -d ${destOffset + e.offset} -l ${e.length} ${src}`]);
    const r = await run("xfs_io", [...cmds, dest], { signal });
    if (r.exitCode !== 0 || r.stderr.trim()) {
      if (/No space left/i.test(r.stderr)) throw new UserError(dest, "no space left on the device holding the output", "free some space or choose --out on another file system");
      return false;
    }
  }
  return true;
}

/**
 * Copies the used blocks of an ext4 image into the image at `destOffset`
 * (e2image -ra: free blocks are never read or written, so the result is
 * sparse). e2image shortens the destination to the end of the file system;
 * the caller extends it again.
 */
export async function copyExtImage(src: string, dest: string, destOffset: Bytes, showProgress = false, signal?: AbortSignal): Promise<void> {
  // -p: e2image's own progress line, on a terminal only
  const r = await run("e2image", ["-ra", ...(showProgress ? ["-p"] : []), "-O", destOffset, src, dest], { ...(showProgress ? { stderr: "inherit" as const } : {}), signal });
  if (r.exitCode !== 0) {
    if (/No space left/i.test(r.stderr)) throw new UserError(dest, "no space left on the device holding the output", "free some space or choose --out on another file system");
    throw new Error(`e2image ${src}: ${r.stderr.trim()}`);
  }
}
