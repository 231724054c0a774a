// `shimboot build --rootfs DIR` against a durable copy of the same tree:
// `cp -a` followed by `sync -f` (syncfs of the file system holding the copy),
// since the build fsyncs its output. Alternating, page cache warm, dirty
// pages flushed before each timed run.
import { $ } from "zx";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { App, Fixtures } from "./lib/app.js";
import type { RootfsInput } from "./lib/inputs.js";
import { outputSizes, type OutputSizes } from "./lib/output.js";
import { runMeasured, type RunOut } from "./lib/process.js";
import { fmtGiB, log, seriesRow, SERIES_HEADERS, table } from "./lib/report.js";
import { ratio, series, type Series } from "./lib/stats.js";
import { buildArgs, buildSide, MEMORY_HEADERS, MEMORY_NOTE, memoryRow, settle, timeIt, type BuildSide } from "./build-image.js";

export interface DirBuildResult {
  rootfs: RootfsInput;
  cpDir: Series;
  cpDirSync: Series;
  build: BuildSide;
  ratioVsCpDirSync: number;
}

export async function benchDirBuild(app: App, fx: Fixtures, rootfs: RootfsInput, tmp: string, rounds: number): Promise<DirBuildResult> {
  const copy = join(tmp, "copy-dir");
  const out = join(tmp, "out.bin");
  const cpDir = async () => void (await $`cp -a ${rootfs.dir} ${copy}`);
  const cpDirSync = async () => void (await $`cp -a ${rootfs.dir} ${copy} && sync -f ${copy}`);

  log(`${rootfs.recipe.name}: warming the page cache (one untimed cp -a, one untimed build, its memory sampled)`);
  await cpDir();
  await rm(copy, { recursive: true, force: true });
  const sampled = await runMeasured(process.execPath, buildArgs(app, fx, rootfs.dir, out), tmp, process.env, { sampleTree: true });
  await rm(out, { force: true });

  const t = { cp: [] as number[], cpSync: [] as number[] };
  const runs: RunOut[] = [];
  let output: OutputSizes | null = null;
  for (let i = 0; i < rounds; i++) {
    log(`${rootfs.recipe.name}: round ${i + 1}/${rounds}: cp -a + sync, build --rootfs DIR, cp -a`);
    t.cpSync.push(await timeIt(cpDirSync));
    await rm(copy, { recursive: true, force: true });
    await settle();
    runs.push(await runMeasured(process.execPath, buildArgs(app, fx, rootfs.dir, out), tmp));
    output ??= await outputSizes(out);
    await rm(out, { force: true });
    t.cp.push(await timeIt(cpDir));
    await rm(copy, { recursive: true, force: true });
  }
  const cpDirSyncS = series(t.cpSync);
  const build = buildSide(runs, output!, sampled);
  return { rootfs, cpDir: series(t.cp), cpDirSync: cpDirSyncS, build, ratioVsCpDirSync: ratio(build.wall, cpDirSyncS) };
}

export function reportDirBuild(b: DirBuildResult): string {
  const r = b.rootfs;
  return [
    `## build --rootfs DIR: a tree of ${r.files} files, ${fmtGiB(r.dataBytes)} (${r.recipe.name})`,
    "",
    table(SERIES_HEADERS, [
      seriesRow("reference: cp -a DIR + sync -f (durable)", b.cpDirSync, "1.00×"),
      seriesRow("shimboot build --rootfs DIR (fsyncs its output)", b.build.wall, `${b.ratioVsCpDirSync}× the durable copy`),
      seriesRow("reference: cp -a DIR alone (page cache, not durable)", b.cpDir, `build = ${ratio(b.build.wall, b.cpDir)}× this`),
    ]),
    "",
    table(MEMORY_HEADERS, [memoryRow("--rootfs DIR", b.build)]),
    "",
    MEMORY_NOTE,
    "",
  ].join("\n");
}
