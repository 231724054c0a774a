// SHA-256 of whole files, in one worker thread: OpenSSL's SHA-256 (with the
// CPU's SHA extensions, ~1 GB/s here) without blocking the main thread, so
// hashing a multi-GB image overlaps the build's other work. One worker for
// every file, in the order asked (each thread costs ~10 MiB of memory).
import { Worker } from "node:worker_threads";
import { UserError } from "../lib/errors.js";

const WORKER = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const { createReadStream } = require("node:fs");
const queue = [];
let busy = false;
function next() {
  const job = queue.shift();
  if (!job) { busy = false; return; }
  busy = true;
  const h = createHash("sha256");
  createReadStream(job.path, { highWaterMark: 4 << 20 })
    .on("data", (c) => h.update(c))
    .on("error", (e) => { parentPort.postMessage({ id: job.id, error: e.code || e.message }); next(); })
    .on("end", () => { parentPort.postMessage({ id: job.id, hex: h.digest("hex") }); next(); });
}
parentPort.on("message", (job) => { queue.push(job); if (!busy) next(); });
`;

interface Reply {
  id: number;
  hex?: string;
  error?: string;
}

let worker: Worker | null = null;
let nextId = 0;
const pending = new Map<number, { path: string; resolve: (v: { hex: string; sri: string }) => void; reject: (e: Error) => void }>();

function hasher(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER, { eval: true });
  w.on("message", (m: Reply) => {
    const job = pending.get(m.id);
    if (!job) return;
    pending.delete(m.id);
    if (pending.size === 0) w.unref(); // an idle hasher never keeps the process alive
    if (m.hex) job.resolve({ hex: m.hex, sri: `sha256-${Buffer.from(m.hex, "hex").toString("base64")}` });
    else job.reject(new UserError(job.path, `cannot be read to hash it (${m.error})`, "check the file and its permissions"));
  });
  w.on("error", (e) => {
    for (const job of pending.values()) job.reject(e);
    pending.clear();
    worker = null;
  });
  worker = w;
  return w;
}

export function sha256File(path: string): Promise<{ hex: string; sri: string }> {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { path, resolve, reject });
    const w = hasher();
    w.ref();
    w.postMessage({ id, path });
  });
}
