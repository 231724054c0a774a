// The body of a block-copy worker thread (block-copy.ts), started from its
// source text (lib/eval-worker.ts).
//
// The workers take tasks from a shared counter, never waiting on the main
// thread (which is busy reading the shim meanwhile). A task is one block of
// the source: read it whole (holes read as zeros), hash it, and write its
// data ranges that are not all zeros to the destination, so holes stay
// holes. Digests go into shared memory; written data is flushed every
// `flushBytes` by whichever worker crosses the mark, without waiting.

export interface BlockTask {
  /** the block [start, end) of the source */
  start: number;
  end: number;
  /** [offset, length] of data in the source; written to destOffset + offset */
  writes: [number, number][];
}

export interface BlockWorkerData {
  src: string;
  dest: string | null;
  destOffset: number;
  blockBytes: number;
  flushBytes: number;
  tasks: BlockTask[];
  /** Int32 [next task, a flush running, the write lock]; BigInt64 [bytes written since the last flush] */
  control: SharedArrayBuffer;
  written: SharedArrayBuffer;
  /** 32 bytes per task */
  digests: SharedArrayBuffer;
}

export type BlockReply = { done: true } | { done: false; error: { code: string | null; message: string; short: boolean } };

/** Runs inside the worker: never called on the main thread. */
export function blockWorkerMain(): void {
  const { parentPort, workerData } = module.require("node:worker_threads") as typeof import("node:worker_threads");
  const { openSync, readSync, writeSync, fdatasync } = module.require("node:fs") as typeof import("node:fs");
  const { createHash } = module.require("node:crypto") as typeof import("node:crypto");
  const data = workerData as BlockWorkerData;
  const control = new Int32Array(data.control);
  const written = new BigInt64Array(data.written);
  const digests = new Uint8Array(data.digests);
  const buf = Buffer.allocUnsafe(data.blockBytes);
  const zeros = Buffer.alloc(data.blockBytes);
  let src = -1;
  let dest: number | null = null;

  const readBlock = (start: number, n: number) => {
    for (let got = 0; got < n; ) {
      const r = readSync(src, buf, got, n - got, start + got);
      if (r === 0) throw Object.assign(new Error(`ended at byte ${start + got} while reading bytes ${start}..${start + n}`), { short: true });
      got += r;
    }
  };
  // One writer at a time: two threads writing one file contend for its inode
  // lock, and the kernel spins on it (measured: 4 GiB took 11 s instead of 5).
  const lock = () => {
    while (Atomics.compareExchange(control, 2, 0, 1) !== 0) Atomics.wait(control, 2, 1);
  };
  const unlock = () => {
    Atomics.store(control, 2, 0);
    Atomics.notify(control, 2, 1);
  };
  // in 256 KiB writes: one 4 MiB write into the page cache took 4-15 times
  // as long here (Linux 6.18 guest), for the same bytes
  const SLICE = 256 * 1024;
  const writeRange = (from: Buffer, at: number) => {
    lock();
    try {
      for (let put = 0; put < from.length; ) put += writeSync(dest!, from, put, Math.min(SLICE, from.length - put), at + put);
    } finally {
      unlock();
    }
  };
  const flushIfDue = (n: number) => {
    if (dest === null || Atomics.add(written, 0, BigInt(n)) + BigInt(n) < BigInt(data.flushBytes)) return;
    if (Atomics.compareExchange(control, 1, 0, 1) !== 0) return; // one flush at a time
    Atomics.store(written, 0, 0n);
    fdatasync(dest, () => Atomics.store(control, 1, 0)); // an error shows again in the final flush
  };
  const run = (t: BlockTask, i: number) => {
    const n = t.end - t.start;
    readBlock(t.start, n);
    digests.set(createHash("sha256").update(buf.subarray(0, n)).digest(), i * 32);
    let put = 0;
    for (const [at, len] of dest === null ? [] : t.writes) {
      const part = buf.subarray(at - t.start, at - t.start + len);
      if (part.equals(zeros.subarray(0, len))) continue;
      writeRange(part, data.destOffset + at);
      put += len;
    }
    if (put) flushIfDue(put);
  };
  const loop = () => {
    try {
      const i = Atomics.add(control, 0, 1);
      if (i >= data.tasks.length) return parentPort!.postMessage({ done: true } satisfies BlockReply);
      run(data.tasks[i]!, i);
      setImmediate(loop); // lets a finished flush's callback run
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { short?: boolean };
      Atomics.store(control, 0, data.tasks.length); // the others stop too
      parentPort!.postMessage({ done: false, error: { code: err.code ?? null, message: err.message, short: !!err.short } } satisfies BlockReply);
    }
  };
  try {
    src = openSync(data.src, "r");
    dest = data.dest === null ? null : openSync(data.dest, "r+");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return parentPort!.postMessage({ done: false, error: { code: err.code ?? null, message: err.message, short: false } } satisfies BlockReply);
  }
  loop();
}
