// A whole image file copied into the output and hashed in one pass, by
// worker threads, one 4 MiB block at a time: the copy and its hash use every
// core while the main thread reads the shim and plans the image.
//
// The hash is the *block hash* of the file: SHA-256 over the concatenated
// SHA-256 digests of its 4 MiB blocks (the last one shorter). It depends on
// the bytes only (never on where the file has holes), it can be computed in
// parallel, and a block that lies wholly in a hole is known without reading
// it: a plain SHA-256 of a 2 GiB image holding 1 GiB would cost more CPU
// time than copying it. The README shows how to compute it with coreutils.
import { createHash } from "node:crypto";
import { open, stat, type FileHandle } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { UserError } from "../lib/errors.js";
import { evalWorker } from "../lib/eval-worker.js";
import type { Bytes } from "../lib/units.js";
import { blockWorkerMain, type BlockReply, type BlockTask, type BlockWorkerData } from "./block-worker.js";
import { dataExtents } from "./copy.js";

export const BLOCK_BYTES = 4 * 1024 * 1024;
/** Written data is flushed as it goes, so the disk works while the rest is copied (64 MiB: the fastest here, `npm run bench -- image`). */
const FLUSH_EVERY = 64 * 1024 * 1024;

interface Extent {
  offset: number;
  length: number;
}

/** The blocks that hold data, each with the data ranges inside it, in order. */
export function blockTasks(size: number, extents: Extent[], blockBytes = BLOCK_BYTES): BlockTask[] {
  const tasks = new Map<number, BlockTask>();
  for (const e of extents) {
    const end = Math.min(e.offset + e.length, size);
    for (let at = e.offset; at < end; ) {
      const index = Math.floor(at / blockBytes);
      const blockEnd = Math.min((index + 1) * blockBytes, size);
      const n = Math.min(end, blockEnd) - at;
      let t = tasks.get(index);
      if (!t) tasks.set(index, (t = { start: index * blockBytes, end: blockEnd, writes: [] }));
      t.writes.push([at, n]);
      at += n;
    }
  }
  return [...tasks.values()].sort((a, b) => a.start - b.start);
}

const zeroDigests = new Map<number, Buffer>();
/** SHA-256 of n zero bytes: a block wholly in a hole (there are two lengths at most). */
function zeroDigest(n: number): Buffer {
  let d = zeroDigests.get(n);
  if (!d) zeroDigests.set(n, (d = createHash("sha256").update(Buffer.alloc(n)).digest()));
  return d;
}

/** The block hash from the digests of the blocks read; every other block is zeros. */
export function combineDigests(size: number, read: Map<number, Uint8Array>, blockBytes = BLOCK_BYTES): string {
  const h = createHash("sha256");
  const blocks = Math.ceil(size / blockBytes);
  for (let i = 0; i < blocks; i++) h.update(read.get(i) ?? zeroDigest(Math.min(blockBytes, size - i * blockBytes)));
  return h.digest("hex");
}

/**
 * Copies `src` into `dest` at `destOffset` (holes and all-zero data left as
 * holes; `dest` made at least as long as the copy's end) and returns its
 * block hash; with `dest` null, only hashes it.
 */
export async function copyAndHash(src: string, dest: string | null, destOffset: Bytes, signal?: AbortSignal): Promise<string> {
  let flush: FileHandle | null = null;
  try {
    const size = (await stat(src)).size;
    const extents = (await dataExtents(src, signal).catch(() => null)) ?? [{ offset: 0, length: size }];
    flush = dest === null ? null : await open(dest, "r+");
    const running = runTasks({ src, dest, destOffset, blockBytes: BLOCK_BYTES }, blockTasks(size, extents), signal);
    zeroDigest(BLOCK_BYTES); // now, while the workers copy, not after them (a 4 MiB hash: 20 ms seen there)
    const digests = await running;
    // a source that ends in a hole still ends where it ends
    if (flush && (await flush.stat()).size < destOffset + size) await flush.truncate(destOffset + size);
    await flush?.datasync();
    return combineDigests(size, digests);
  } catch (e) {
    throw blockError(e, src, dest);
  } finally {
    await flush?.close();
  }
}

/** Runs the tasks on a worker pool (one per core, at most four); the digests come back by block. */
async function runTasks(base: Pick<BlockWorkerData, "src" | "dest" | "destOffset" | "blockBytes">, tasks: BlockTask[], signal?: AbortSignal): Promise<Map<number, Uint8Array>> {
  const digests = new Map<number, Uint8Array>();
  if (!tasks.length) return digests;
  signal?.throwIfAborted();
  const data: BlockWorkerData = { ...base, flushBytes: FLUSH_EVERY, tasks, control: new SharedArrayBuffer(12), written: new SharedArrayBuffer(8), digests: new SharedArrayBuffer(32 * tasks.length) };
  const count = Math.max(1, Math.min(availableParallelism(), 4, tasks.length));
  const workers = Array.from({ length: count }, () => evalWorker(blockWorkerMain, data));
  let onAbort = () => {};
  try {
    await new Promise<void>((resolve, reject) => {
      let done = 0;
      onAbort = () => reject(signal!.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      for (const w of workers) {
        w.on("error", reject);
        w.on("exit", (code) => code !== 0 && reject(new Error(`a block-copy worker exited with status ${code}`)));
        w.on("message", (r: BlockReply) => {
          if (!r.done) return reject(Object.assign(new Error(r.error.message), { code: r.error.code, short: r.error.short }));
          if (++done === workers.length) resolve();
        });
      }
    });
  } finally {
    signal?.removeEventListener("abort", onAbort);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  const all = new Uint8Array(data.digests);
  tasks.forEach((t, i) => digests.set(t.start / base.blockBytes, all.subarray(i * 32, i * 32 + 32)));
  return digests;
}

function blockError(e: unknown, src: string, dest: string | null): unknown {
  const err = e as NodeJS.ErrnoException & { short?: boolean };
  if (err.code === "ENOSPC") return new UserError(dest ?? src, "no space left on the device holding the output", "free some space or choose --out on another file system");
  if (err.short) return new UserError(src, `${err.message}: the file changed or is truncated`, "build again once nothing else writes to it");
  if (err.code === "EIO") return new UserError(src, "cannot be read (EIO): the device holding it reports an I/O error", "copy it to a healthy disk and build again");
  if (err.code === "EACCES" || err.code === "EPERM" || err.code === "ENOENT" || err.code === "EISDIR") return new UserError(src, `cannot be read (${err.code})`, "check the file and its permissions");
  return e;
}
