// Writing every byte of the image to the drive, and reading it back.
// Every byte, zeros included: the drive's old data must not show through the
// image's holes. Large chunks, reading the next one while the last is written,
// a periodic fdatasync so progress shows what reached the drive.
import { createHash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { formatBytes, MiB } from "../lib/units.js";

export const CHUNK = 4 * MiB;
/** fdatasync this often on a block device, so the rate shown is the drive's */
const SYNC_EVERY = 64 * MiB;

export type OnProgress = (done: number, total: number) => void;

async function readFull(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

async function writeFull(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await fh.write(buf, done, length - done, position + done);
    done += bytesWritten;
  }
}

export class ShortReadError extends Error {
  constructor(readonly which: "image" | "device", readonly offset: number) {
    super(`${which} ended early at byte ${offset}`);
  }
}

/** Copies `size` bytes of `src` to the start of `dst`; returns the SHA-256 of what was written. */
export async function copyAll(src: FileHandle, dst: FileHandle, size: number, opts: { syncEvery: number | null; progress: OnProgress }): Promise<string> {
  const hash = createHash("sha256");
  const bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  let pending = readFull(src, bufs[0]!, Math.min(CHUNK, size), 0);
  try {
    let sinceSync = 0;
    let which = 0;
    for (let pos = 0; pos < size; ) {
      const want = Math.min(CHUNK, size - pos);
      const got = await pending;
      if (got !== want) throw new ShortReadError("image", pos + got);
      const buf = bufs[which]!;
      const next = pos + want;
      which ^= 1;
      // read ahead into the other buffer while this one is written
      pending = next < size ? readFull(src, bufs[which]!, Math.min(CHUNK, size - next), next) : Promise.resolve(0);
      hash.update(buf.subarray(0, want));
      await writeFull(dst, buf, want, pos);
      pos = next;
      sinceSync += want;
      if (opts.syncEvery !== null && sinceSync >= opts.syncEvery) {
        await dst.datasync();
        sinceSync = 0;
      }
      opts.progress(pos, size);
    }
  } finally {
    await pending.catch(() => 0); // never leave a read-ahead unobserved
  }
  await dst.datasync();
  return hash.digest("hex");
}

export const DEFAULT_SYNC_EVERY = SYNC_EVERY;

export interface Mismatch {
  offset: number;
}

/**
 * Reads the first `size` bytes of the drive and compares them with the image,
 * chunk by chunk. Returns the drive's SHA-256 and the first differing byte.
 */
export async function readBack(src: FileHandle, dst: FileHandle, size: number, progress: OnProgress): Promise<{ sha256: string; mismatch: Mismatch | null }> {
  const hash = createHash("sha256");
  const a = Buffer.allocUnsafe(CHUNK);
  const b = Buffer.allocUnsafe(CHUNK);
  let mismatch: Mismatch | null = null;
  for (let pos = 0; pos < size; pos += CHUNK) {
    const want = Math.min(CHUNK, size - pos);
    const [ga, gb] = await Promise.all([readFull(src, a, want, pos), readFull(dst, b, want, pos)]);
    if (ga !== want) throw new ShortReadError("image", pos + ga);
    if (gb !== want) throw new ShortReadError("device", pos + gb);
    const x = a.subarray(0, want);
    const y = b.subarray(0, want);
    hash.update(y);
    if (!mismatch && !x.equals(y)) {
      let i = 0;
      while (x[i] === y[i]) i++;
      mismatch = { offset: pos + i };
    }
    progress(pos + want, size);
  }
  return { sha256: hash.digest("hex"), mismatch };
}

/** A one-line progress meter on a terminal: bytes, MiB/s, ETA. */
export function progressMeter(label: string, out: NodeJS.WriteStream | null): { update: OnProgress; done: () => void } {
  if (!out) return { update: () => {}, done: () => {} };
  const t0 = Date.now();
  let last = 0;
  let shown = false;
  const render = (done: number, total: number) => {
    const secs = (Date.now() - t0) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const eta = rate > 0 ? (total - done) / rate : 0;
    const pct = total ? Math.floor((done / total) * 100) : 100;
    const clock = (s: number) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
    out.write(`\r${label} ${formatBytes(done).padStart(10)} / ${formatBytes(total)}  ${String(pct).padStart(3)}%  ${(rate / MiB).toFixed(1).padStart(6)} MiB/s  ETA ${clock(eta)}\x1b[K`);
    shown = true;
  };
  return {
    update: (done, total) => {
      const now = Date.now();
      if (now - last < 250 && done < total) return;
      last = now;
      render(done, total);
    },
    done: () => {
      if (shown) out.write("\n");
    },
  };
}
