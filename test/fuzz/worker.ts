// A fuzz worker (child process of fuzz.ts): runs cases one at a time and
// reports each outcome with the process's peak memory during the case.
import { readFileSync, writeFileSync } from "node:fs";
import { revive, type Target } from "./targets.js";
import { runCase, Workbench } from "./run-case.js";
import type { Case } from "./mutations.js";

export type ToWorker = { type: "init"; dir: string; targets: Target[] } | { type: "case"; id: number; variant: string; case: Case };
export type FromWorker = { type: "ready" } | { type: "result"; id: number; verdict: string; message: string; ms: number; peakRssMiB: number };

/** Peak resident memory since the last reset (Linux: VmHWM, reset through clear_refs). */
function resetPeak() {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
  } catch {
    /* not Linux: the peak is then the process's */
  }
}
function peakMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : Math.round(process.memoryUsage().rss / 2 ** 20);
}

let bench: Workbench;
const targets = new Map<string, Target>();
const send = (m: FromWorker) => process.send!(m);

async function handle(m: ToWorker) {
  if (m.type === "init") {
    for (const t of m.targets.map(revive)) targets.set(t.variant, t);
    bench = await Workbench.create(m.dir, [...targets.values()]);
    send({ type: "ready" });
    return;
  }
  resetPeak();
  const o = await runCase(bench, targets.get(m.variant)!, m.case);
  send({ type: "result", id: m.id, verdict: o.verdict, message: o.message, ms: o.ms, peakRssMiB: peakMiB() });
}

// a failure of the harness itself ends the worker loudly: the runner reports it, never waits
process.on("message", (m: ToWorker) =>
  handle(m).catch((e: unknown) => {
    process.stderr.write(`fuzz worker: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(3);
  }),
);
