// `npm run fuzz`: damaged versions of every fixture variant, read as
// `shimboot build` reads them. Each case must end in success or a clear
// error; an internal error, a hang (--timeout) or memory beyond --max-rss is
// a bug in the reader. Cases come from fast-check with a fixed seed, so a
// run is repeatable; the summary lists every bug with its case.
// Run with vite-node (npm run fuzz), as the tests run.
//   npm run fuzz -- [--cases 1000] [--seed N] [--workers 2] [--variant NAME] [--timeout 300000] [--max-rss 1024]
import { fork, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { FIXTURES, cacheRoot, fixture, repoRoot, type FixtureName } from "../fixtures/fixtures.js";
import { caseArbitrary, describeCase, type Case } from "./mutations.js";
import { describeTarget, type Target } from "./targets.js";
import type { FromWorker, ToWorker } from "./worker.js";

const { values: opt } = parseArgs({
  options: {
    cases: { type: "string", default: "1000" },
    seed: { type: "string", default: "20261201" },
    workers: { type: "string", default: "2" },
    variant: { type: "string", multiple: true },
    timeout: { type: "string", default: "300000" },
    "max-rss": { type: "string", default: "1024" },
  },
});
const CASES = Number(opt.cases);
const VITE_NODE = join(repoRoot, "node_modules/vite-node/vite-node.mjs");
const TIMEOUT = Number(opt.timeout);
const MAX_RSS = Number(opt["max-rss"]);

interface Job {
  id: number;
  variant: string;
  case: Case;
}
interface Result {
  job: Job;
  verdict: "ok" | "clean" | "internal" | "hang" | "memory";
  message: string;
  ms: number;
  peakRssMiB: number;
}

const names = (opt.variant?.length ? opt.variant : Object.keys(FIXTURES)) as FixtureName[];
const unknown = names.filter((n) => !(n in FIXTURES));
if (unknown.length) {
  console.error(`fuzz: no fixture variant ${unknown.join(", ")}; the variants are ${Object.keys(FIXTURES).join(", ")}`);
  process.exit(2);
}
const variants = await Promise.all(names.map(async (variant) => ({ variant, path: await fixture(variant) })));
const jobs: Job[] = [];
const targets: Target[] = [];
for (const [i, v] of variants.entries()) {
  const t = await describeTarget(v.variant, v.path);
  targets.push(t);
  const cases = fc.sample(caseArbitrary(t.regions.map((r) => r.name)), { seed: Number(opt.seed) + i, numRuns: CASES });
  for (const c of cases) jobs.push({ id: jobs.length, variant: v.variant, case: c });
}

const root = await mkdtemp(join(process.env.TMPDIR ?? tmpdir(), "shimboot-fuzz-"));
const results: Result[] = [];
let next = 0;
const started = Date.now();

function progress() {
  if (!process.stderr.isTTY) {
    if (results.length % 25 === 0) process.stderr.write(`${results.length}/${jobs.length} cases, ${Math.round((Date.now() - started) / 1000)} s\n`);
    return;
  }
  const bad = results.filter((r) => r.verdict !== "ok" && r.verdict !== "clean").length;
  process.stderr.write(`\r${results.length}/${jobs.length} cases, ${bad} bugs, ${Math.round((Date.now() - started) / 1000)} s `);
}

/** One worker process at a time per slot; a hung one is killed and replaced. */
async function slot(n: number): Promise<void> {
  let incarnation = 0;
  const start = () =>
    new Promise<ChildProcess>((resolve, reject) => {
      // vite-node runs the TypeScript as vitest does (the fixture catalogue hashes its own .ts sources)
      const w = fork(VITE_NODE, [fileURLToPath(new URL("./worker.ts", import.meta.url))], { execArgv: [`--max-old-space-size=${MAX_RSS}`], stdio: ["ignore", "ignore", "inherit", "ipc"], serialization: "advanced" });
      w.once("message", (m: FromWorker) => (m.type === "ready" ? resolve(w) : reject(new Error("worker did not start"))));
      w.once("exit", (code) => reject(new Error(`fuzz worker exited (${code}) before it was ready`)));
      w.once("error", reject);
      w.send({ type: "init", dir: join(root, `w${n}-${incarnation++}`), targets } satisfies ToWorker);
    });
  let w = await start();
  while (next < jobs.length) {
    const job = jobs[next++]!;
    const r = await new Promise<Result>((resolve) => {
      const timer = setTimeout(() => {
        w.kill("SIGKILL");
        resolve({ job, verdict: "hang", message: `no answer in ${TIMEOUT} ms`, ms: TIMEOUT, peakRssMiB: 0 });
      }, TIMEOUT);
      const onExit = (code: number | null, signal: string | null) => {
        clearTimeout(timer);
        resolve({ job, verdict: "internal", message: `worker died (${signal ?? `exit ${code}`}), e.g. out of memory`, ms: 0, peakRssMiB: 0 });
      };
      w.once("exit", onExit);
      w.once("message", (m: FromWorker) => {
        if (m.type !== "result") return;
        clearTimeout(timer);
        w.off("exit", onExit);
        const verdict = m.verdict === "ok" || m.verdict === "clean" ? (m.peakRssMiB > MAX_RSS ? "memory" : m.verdict) : "internal";
        resolve({ job, verdict: verdict as Result["verdict"], message: m.message, ms: m.ms, peakRssMiB: m.peakRssMiB });
      });
      w.send({ type: "case", id: job.id, variant: job.variant, case: job.case } satisfies ToWorker);
    });
    results.push(r);
    if (r.verdict !== "ok" && r.verdict !== "clean") process.stderr.write(`${r.verdict} ${r.job.variant} ${describeCase(r.job.case)}: ${r.message}\n`);
    if (r.ms > 10_000) process.stderr.write(`slow (${Math.round(r.ms)} ms) ${r.job.variant} ${describeCase(r.job.case)}\n`);
    progress();
    if (r.verdict === "hang" || (r.verdict === "internal" && r.message.startsWith("worker died"))) w = await start();
  }
  w.kill();
}

try {
  await Promise.all(Array.from({ length: Number(opt.workers) }, (_, n) => slot(n)));
} finally {
  await rm(root, { recursive: true, force: true });
}
if (process.stderr.isTTY) process.stderr.write("\n");

const lines: string[] = [`fuzz: seed ${opt.seed}, ${CASES} cases per variant, ${results.length} cases in ${Math.round((Date.now() - started) / 1000)} s`, ""];
lines.push("variant                      cases  read ok  clean errors  internal  hangs  memory  slowest case");
for (const { variant } of variants) {
  const rs = results.filter((r) => r.job.variant === variant);
  const count = (v: Result["verdict"]) => rs.filter((r) => r.verdict === v).length;
  const slowest = rs.reduce((a, b) => (b.ms > a.ms ? b : a), rs[0]!);
  lines.push(`${variant.padEnd(28)} ${String(rs.length).padStart(5)}  ${String(count("ok")).padStart(7)}  ${String(count("clean")).padStart(12)}  ${String(count("internal")).padStart(8)}  ${String(count("hang")).padStart(5)}  ${String(count("memory")).padStart(6)}  ${Math.round(slowest.ms)} ms (${describeCase(slowest.job.case)})`);
}
const peak = results.reduce((a, r) => Math.max(a, r.peakRssMiB), 0);
lines.push("", `peak memory of a worker during one case: ${peak} MiB (limit ${MAX_RSS} MiB)`);
const bugs = results.filter((r) => r.verdict !== "ok" && r.verdict !== "clean");
if (bugs.length) {
  lines.push("", `${bugs.length} bugs:`);
  for (const b of bugs.slice(0, 50)) lines.push(`  ${b.verdict} ${b.job.variant} ${describeCase(b.job.case)}: ${b.message}`);
}
const byRegion = new Map<string, number>();
for (const r of results) byRegion.set(r.job.case.region, (byRegion.get(r.job.case.region) ?? 0) + 1);
lines.push("", `cases by region: ${[...byRegion].map(([k, v]) => `${k} ${v}`).join(", ")}`);
process.stdout.write(lines.join("\n") + "\n");
await mkdir(join(cacheRoot, "..", "fuzz"), { recursive: true });
await writeFile(join(cacheRoot, "..", "fuzz", "results.json"), JSON.stringify({ seed: opt.seed, cases: CASES, results }, (_, v) => (typeof v === "bigint" ? v.toString() : v), 2));
process.exitCode = bugs.length ? 1 : 0;
