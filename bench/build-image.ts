// `shimboot build --rootfs IMAGE` against a durable copy of the same image:
// `cp --sparse=always` followed by `sync` of the copy (fsync), since the build
// fsyncs its output too. Both alternate within each round, page cache warm,
// every dirty page of earlier runs flushed before each timed run. Peak
// memory and the output's allocated size are measured on the same runs.
import { $ } from "zx";
import { rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { App, Fixtures } from "./lib/app.js";
import type { RootfsInput } from "./lib/inputs.js";
import { outputSizes, type OutputSizes } from "./lib/output.js";
import { runMeasured, type RunOut } from "./lib/process.js";
import { fmtGiB, log, seriesRow, SERIES_HEADERS, table } from "./lib/report.js";
import { median, now, ratio, series, type Series } from "./lib/stats.js";

export const RATIO_TARGET = 1.3;

export interface BuildSide {
  wall: Series;
  /** GNU time %M over the runs: the largest single process (MiB) */
  maxRssMiB: { median: number; max: number } | null;
  /** the whole process tree, sampled every 50 ms in one untimed run (MiB) */
  treePeakMiB: number;
  output: OutputSizes;
}

export interface ImageBuildResult {
  rootfs: RootfsInput & { cpAllocatedBytes: number };
  cp: Series;
  cpSync: Series;
  build: BuildSide;
  ratioVsCpSync: number;
  ratioVsCp: number;
}

export const buildArgs = (app: App, fx: Fixtures, rootfs: string, out: string, extra: string[] = []) => [app.cli, "build", "--shim", fx.shim, "--recovery", fx.recovery, "--rootfs", rootfs, "--out", out, "--force", ...extra];

/** Flushes every dirty page first, so that no run pays for an earlier one's writeback. */
export const settle = async () => void (await $`sync`);

/** Milliseconds `f` takes, started once earlier writes have reached the disk. */
export async function timeIt(f: () => Promise<void>): Promise<number> {
  await settle();
  const s = now();
  await f();
  return now() - s;
}

export function buildSide(runs: RunOut[], output: OutputSizes, sampled: RunOut): BuildSide {
  const toMiB = (k: number) => +(k / 1024).toFixed(1);
  const rss = runs.map((r) => r.maxRssKiB).filter((x): x is number => x !== null);
  return {
    wall: series(runs.map((r) => r.wallMs)),
    maxRssMiB: rss.length ? { median: toMiB(median(rss)), max: toMiB(Math.max(...rss)) } : null,
    treePeakMiB: toMiB(sampled.treePeakKiB ?? 0),
    output,
  };
}

export async function benchImageBuild(app: App, fx: Fixtures, rootfs: RootfsInput, tmp: string, rounds: number): Promise<ImageBuildResult> {
  const image = rootfs.image!;
  const copy = join(tmp, "copy.img");
  const out = join(tmp, "out.bin");
  const cp = async () => void (await $`cp --sparse=always ${image} ${copy}`);
  const cpSync = async () => void (await $`cp --sparse=always ${image} ${copy} && sync ${copy}`);

  log(`${rootfs.recipe.name}: warming the page cache (one untimed cp, one untimed build, its memory sampled)`);
  await cp();
  const cpAllocatedBytes = (await stat(copy)).blocks * 512;
  await rm(copy, { force: true });
  const sampled = await runMeasured(process.execPath, buildArgs(app, fx, image, out), tmp, process.env, { sampleTree: true });
  await rm(out, { force: true });

  const t = { cp: [] as number[], cpSync: [] as number[] };
  const runs: RunOut[] = [];
  let output: OutputSizes | null = null;
  for (let i = 0; i < rounds; i++) {
    log(`${rootfs.recipe.name}: round ${i + 1}/${rounds}: cp + sync, build --rootfs IMAGE, cp`);
    t.cpSync.push(await timeIt(cpSync));
    await rm(copy, { force: true });
    await settle();
    runs.push(await runMeasured(process.execPath, buildArgs(app, fx, image, out), tmp));
    output ??= await outputSizes(out);
    await rm(out, { force: true });
    t.cp.push(await timeIt(cp));
    await rm(copy, { force: true });
  }
  const cpS = series(t.cp);
  const cpSyncS = series(t.cpSync);
  const build = buildSide(runs, output!, sampled);
  return { rootfs: { ...rootfs, cpAllocatedBytes }, cp: cpS, cpSync: cpSyncS, build, ratioVsCpSync: ratio(build.wall, cpSyncS), ratioVsCp: ratio(build.wall, cpS) };
}

export function memoryRow(name: string, s: BuildSide): string[] {
  const o = s.output;
  return [
    name,
    s.maxRssMiB ? `${s.maxRssMiB.median} MiB (max ${s.maxRssMiB.max})` : "n/a",
    `${s.treePeakMiB} MiB`,
    fmtGiB(o.apparentBytes),
    fmtGiB(o.allocatedBytes),
    fmtGiB(o.dataBytes),
    (o.allocatedBytes / o.dataBytes).toFixed(3),
  ];
}

export const MEMORY_HEADERS = ["build", "peak RSS, largest process (GNU time %M)", "peak RSS, whole tree (sampled 50 ms, the untimed run)", "apparent", "allocated", "data", "alloc/data"];
export const MEMORY_NOTE = "data = used blocks of every ext file system in the output (dumpe2fs) + the KERN-A partition's length. Target: peak ≤ 150 MiB.";

export function reportImageBuild(b: ImageBuildResult): string {
  const r = b.rootfs;
  const ok = b.ratioVsCpSync <= RATIO_TARGET ? "met" : "NOT met";
  return [
    `## build --rootfs IMAGE: ${r.recipe.imageSize} ext4 image, ${fmtGiB(r.usedBytes)} used (${r.recipe.name})`,
    "",
    `Input (cache key ${r.key}${r.generatedNow ? ", generated in this run" : ", cached"}): ${fmtGiB(r.imageBytes)} apparent, ${fmtGiB(r.usedBytes)} used by the file system, ${fmtGiB(r.cpAllocatedBytes)} allocated after cp; ${r.files} files, ${fmtGiB(r.dataBytes)} of data. Page cache warm; all dirty pages flushed (sync) before each timed run.`,
    "",
    table(SERIES_HEADERS, [
      seriesRow("reference: cp --sparse=always + sync of the copy (durable)", b.cpSync, "1.00×"),
      seriesRow("shimboot build --rootfs IMAGE (fsyncs its output)", b.build.wall, `${b.ratioVsCpSync}× the durable copy (target ≤ ${RATIO_TARGET}×: ${ok})`),
      seriesRow("reference: cp --sparse=always alone (page cache, not durable)", b.cp, `build = ${b.ratioVsCp}× this`),
    ]),
    "",
    table(MEMORY_HEADERS, [memoryRow("--rootfs IMAGE", b.build)]),
    "",
    MEMORY_NOTE,
    "",
  ].join("\n");
}
