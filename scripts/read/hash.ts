// SHA-256 of whole files (the shim and the recovery image, as their pins in
// nix/boards.nix name them). A recovery image is 1–3 GB: its hash takes a
// second or two of CPU, so a file that large is hashed in a worker thread
// and the main thread stays free to read, spawn the tools and plan. A small
// file is hashed on the main thread: starting a worker costs more (about
// 100 ms of a small build, `npm run bench -- small`).
import { createHash } from "node:crypto";
import { open, stat } from "node:fs/promises";
import { UserError } from "../lib/errors.js";
import { evalWorker, oneReply } from "../lib/eval-worker.js";

/** Files from this size on are hashed in a worker thread. */
export const HASH_IN_WORKER_FROM = 256 * 1024 * 1024;
const SLICE = 1 << 20;

type Reply = { hex: string } | { error: string };

/** Runs inside the worker: never called on the main thread. */
function hashWorkerMain(): void {
  const { parentPort, workerData } = module.require("node:worker_threads") as typeof import("node:worker_threads");
  const { openSync, readSync, closeSync } = module.require("node:fs") as typeof import("node:fs");
  const { createHash } = module.require("node:crypto") as typeof import("node:crypto");
  try {
    const fd = openSync(workerData as string, "r");
    const h = createHash("sha256");
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let at = 0, n = 0; (n = readSync(fd, buf, 0, buf.length, at)) > 0; at += n) h.update(buf.subarray(0, n));
    closeSync(fd);
    parentPort!.postMessage({ hex: h.digest("hex") } satisfies Reply);
  } catch (e) {
    parentPort!.postMessage({ error: (e as NodeJS.ErrnoException).code ?? (e as Error).message } satisfies Reply);
  }
}

/**
 * The file's SHA-256. Aborting `signal` stops it (the worker is terminated):
 * a hash started early must not keep node running after the command has
 * failed for another reason.
 */
export async function sha256File(path: string, workerFrom = HASH_IN_WORKER_FROM, signal?: AbortSignal): Promise<{ hex: string; sri: string }> {
  const size = await stat(path).then((s) => s.size, () => 0); // a missing file fails where it is read
  const r = size >= workerFrom ? await inWorker(path, signal) : await onMainThread(path, signal);
  if ("error" in r) throw new UserError(path, `cannot be read to hash it (${r.error})`, "check the file and its permissions");
  return { hex: r.hex, sri: `sha256-${Buffer.from(r.hex, "hex").toString("base64")}` };
}

async function inWorker(path: string, signal?: AbortSignal): Promise<Reply> {
  signal?.throwIfAborted();
  const w = evalWorker(hashWorkerMain, path);
  let onAbort = () => {};
  try {
    return await new Promise<Reply>((resolve, reject) => {
      onAbort = () => reject(signal!.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      oneReply<Reply>(w).then(resolve, reject);
    });
  } finally {
    signal?.removeEventListener("abort", onAbort);
    await w.terminate();
  }
}

/** 1 MiB slices into one buffer: the event loop is never held up for long. */
async function onMainThread(path: string, signal?: AbortSignal): Promise<Reply> {
  signal?.throwIfAborted();
  try {
    const fh = await open(path, "r");
    try {
      const h = createHash("sha256");
      const buf = Buffer.allocUnsafe(SLICE);
      for (let at = 0, n = 0; !signal?.aborted && (n = (await fh.read(buf, 0, SLICE, at)).bytesRead) > 0; at += n) h.update(buf.subarray(0, n));
      signal?.throwIfAborted();
      return { hex: h.digest("hex") };
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    return { error: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
  }
}
