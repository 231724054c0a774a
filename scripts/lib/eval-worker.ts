// A worker thread started from a function's source text (`eval: true`), so
// that it needs no file of its own beside the compiled module. The function
// may use only Node's built-in modules, through `module.require` (which a
// bundler leaves alone), and the data it is given.
import { Worker } from "node:worker_threads";

export function evalWorker(body: () => void, workerData: unknown): Worker {
  return new Worker(`(${body.toString()})()`, { eval: true, workerData });
}

/** The one reply of a worker that answers once, or its failure. */
export function oneReply<T>(w: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    w.once("message", resolve);
    w.once("error", reject);
    w.once("exit", (code) => reject(new Error(`a worker thread exited with status ${code} before it answered`)));
  });
}
