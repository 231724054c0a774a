// Moving bytes into the image: a byte range (the shim's KERN-A, copied
// exactly), a whole image file copied and hashed in one pass (the rootfs),
// and an ext4 image's data extents by the kernel or its used blocks with
// e2image (moving a file system within the image).
import { createHash } from "node:crypto";
import { open, stat, type FileHandle } from "node:fs/promises";
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

let zero: Buffer | null = null;

/** memcmp against zeros, not a loop in JavaScript. */
const isZero = (b: Buffer) => b.equals((zero ??= Buffer.alloc(CHUNK)).subarray(0, b.length));

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

/** Reads exactly `n` bytes at `at` into `buf`, or says the file is shorter. */
async function readFull(fh: FileHandle, path: string, buf: Buffer, n: number, at: number): Promise<Buffer> {
  for (let got = 0; got < n; ) {
    const { bytesRead } = await fh.read(buf, got, n - got, at + got);
    if (bytesRead === 0) throw new UserError(path, `ended early while copying bytes ${at}..${at + n}`, "the file changed or is truncated; build again");
    got += bytesRead;
  }
  return buf.subarray(0, n);
}

async function writeFull(fh: FileHandle, buf: Buffer, at: number): Promise<void> {
  for (let put = 0; put < buf.length; ) put += (await fh.write(buf, put, buf.length - put, at + put)).bytesWritten;
}

const FLUSH_EVERY = 256 * 1024 * 1024;

/**
 * Copies a whole file into `dest` at `destOffset` and returns its SHA-256,
 * in one pass over its bytes: its data extents are read once, hashed and
 * written (all-zero chunks left as holes); its holes are hashed as the
 * zeros they read as, without reading them. Reads run ahead and writes
 * behind the hashing (Node's I/O threads), and the written data is flushed
 * as it goes, so the disk works while the rest is copied.
 */
export async function copyAndHash(src: string, dest: string, destOffset: Bytes, signal?: AbortSignal): Promise<string> {
  const size = (await stat(src)).size;
  const extents = (await dataExtents(src, signal).catch(() => null)) ?? [{ offset: 0, length: size }];
  const h = createHash("sha256");
  const zeros = (zero ??= Buffer.alloc(CHUNK));
  const hashZeros = (n: number) => {
    for (; n > 0; n -= CHUNK) h.update(zeros.subarray(0, Math.min(CHUNK, n)));
  };
  // every chunk of every extent, in order
  const chunks: { at: number; n: number }[] = [];
  for (const e of extents) for (let at = e.offset; at < e.offset + e.length; at += CHUNK) chunks.push({ at, n: Math.min(CHUNK, e.offset + e.length - at) });
  const s = await open(src, "r");
  const d = await open(dest, "r+");
  const bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  const read = (i: number) => readFull(s, src, bufs[i % 3]!, chunks[i]!.n, chunks[i]!.at);
  let ahead: Promise<Buffer> | null = null;
  let behind: Promise<void> = Promise.resolve();
  let flushing: Promise<void> | null = null;
  try {
    ahead = chunks.length ? read(0) : null;
    let sinceFlush = 0;
    let pos = 0;
    for (let i = 0; i < chunks.length; i++) {
      signal?.throwIfAborted();
      const { at, n } = chunks[i]!;
      const buf = await ahead!;
      await behind; // the buffer read next has been written out
      ahead = i + 1 < chunks.length ? read(i + 1) : null;
      hashZeros(at - pos);
      h.update(buf);
      pos = at + n;
      if (!isZero(buf)) behind = writeFull(d, buf, destOffset + at);
      sinceFlush += n;
      if (sinceFlush >= FLUSH_EVERY && !flushing) {
        sinceFlush = 0;
        flushing = behind.then(() => d.datasync()).finally(() => (flushing = null));
      }
    }
    await behind;
    await flushing;
    hashZeros(size - pos);
    return h.digest("hex");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOSPC") throw new UserError(dest, "no space left on the device holding the output", "free some space or choose --out on another file system");
    throw e;
  } finally {
    // nothing still in flight when the files close
    await Promise.allSettled([ahead, behind, flushing]);
    await s.close();
    await d.close();
  }
}
