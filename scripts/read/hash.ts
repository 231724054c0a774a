// SHA-256 of a whole file, in a worker thread: OpenSSL's SHA-256 (with the
// CPU's SHA extensions, ~1 GB/s here) without blocking the main thread, so
// hashing a multi-GB image overlaps the build's other work.
import { Worker } from "node:worker_threads";
import { UserError } from "../lib/errors.js";

const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const { createReadStream } = require("node:fs");
const h = createHash("sha256");
createReadStream(workerData, { highWaterMark: 4 << 20 })
  .on("data", (c) => h.update(c))
  .on("error", (e) => parentPort.postMessage({ error: e.code || e.message }))
  .on("end", () => parentPort.postMessage({ hex: h.digest("hex") }));
`;

export function sha256File(path: string): Promise<{ hex: string; sri: string }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { eval: true, workerData: path });
    w.once("message", (m: { hex?: string; error?: string }) => {
      void w.terminate();
      if (m.hex) resolve({ hex: m.hex, sri: `sha256-${Buffer.from(m.hex, "hex").toString("base64")}` });
      else reject(new UserError(path, `cannot be read to hash it (${m.error})`, "check the file and its permissions"));
    });
    w.once("error", reject);
  });
}
