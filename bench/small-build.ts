// A small build, where fixed costs show: the fixture shim, a rootfs
// directory of a few MiB, --drivers none. Target ≤ 1.0 s wall. References
// measured in the same run: a bare Node start and `shimboot --version` (the
// CLI's start-up). The build is timed twice over, alternating: as node runs
// the program, and with the environment the Nix wrapper gives it
// (GLIBC_TUNABLES, nix/package.nix). One more, profiled, run says where the
// time goes and how many child processes it takes.
import { $ } from "zx";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { App, Fixtures } from "./lib/app.js";
import type { RootfsInput } from "./lib/inputs.js";
import { runMeasured, type RunOut } from "./lib/process.js";
import { fmtMiB, log, seriesRow, SERIES_HEADERS, table } from "./lib/report.js";
import { series, timeRuns, type Series } from "./lib/stats.js";
import { processCount, profileRun, reportProfile, type Profile } from "./profile.js";
import { nixWrapperEnv } from "./lib/nix-wrapper-env.js";

export const SMALL_TARGET_SECONDS = 1.0;
const RUNS = 7;

export interface SmallBuildResult {
  rootfs: RootfsInput;
  nodeStart: Series;
  cliVersion: Series;
  build: Series;
  /** the same build with the Nix wrapper's environment */
  nixBuild: Series;
  nixEnv: Record<string, string>;
  maxRssMiB: number | null;
  profile: Profile;
}

export async function benchSmallBuild(app: App, fx: Fixtures, rootfs: RootfsInput, tmp: string): Promise<SmallBuildResult> {
  const out = join(tmp, "small.bin");
  const argv = [app.cli, "build", "--shim", fx.shim, "--rootfs", rootfs.dir, "--drivers", "none", "--out", out, "--force"];
  log("small build: references (node -e 0, shimboot --version)");
  const nodeStart = await timeRuns(RUNS, 1, async () => void (await $`${process.execPath} -e 0`));
  const cliVersion = await timeRuns(RUNS, 1, async () => void (await $`${process.execPath} ${app.cli} --version`));
  const nixEnv = nixWrapperEnv();
  log(`small build: ${RUNS} runs each, alternating: plain node, then with ${Object.entries(nixEnv).map(([k, v]) => `${k}=${v}`).join(" ")} (the Nix wrapper's)`);
  await runMeasured(process.execPath, argv, tmp);
  const runs: RunOut[] = [];
  const nixRuns: RunOut[] = [];
  for (let i = 0; i < RUNS; i++) {
    runs.push(await runMeasured(process.execPath, argv, tmp));
    await rm(out, { force: true });
    nixRuns.push(await runMeasured(process.execPath, argv, tmp, { ...process.env, ...nixEnv }));
    await rm(out, { force: true });
  }
  log("small build: one profiled run");
  const profile = await profileRun("small build (--rootfs DIR of a few MiB, --drivers none)", [process.execPath, ...argv], out, tmp);
  const rss = [...runs, ...nixRuns].map((r) => r.maxRssKiB).filter((x): x is number => x !== null);
  return { rootfs, nodeStart, cliVersion, build: series(runs.map((r) => r.wallMs)), nixBuild: series(nixRuns.map((r) => r.wallMs)), nixEnv, maxRssMiB: rss.length ? Math.max(...rss) / 1024 : null, profile };
}

export function reportSmallBuild(s: SmallBuildResult): string {
  const met = (x: Series) => `target ≤ ${SMALL_TARGET_SECONDS.toFixed(1)} s: ${x.median <= SMALL_TARGET_SECONDS ? "met" : "NOT met"}`;
  return [
    `## Small build: fixture shim, a ${fmtMiB(s.rootfs.dataBytes)} rootfs directory (${s.rootfs.files} files), --drivers none`,
    "",
    table(SERIES_HEADERS, [
      seriesRow("shimboot build (write, verify, rename)", s.build, met(s.build)),
      seriesRow(`the same as the Nix package runs it (${Object.entries(s.nixEnv).map(([k, v]) => `${k}=${v}`).join(" ")})`, s.nixBuild, met(s.nixBuild)),
      seriesRow("reference: shimboot --version (the CLI's start-up)", s.cliVersion, `${((s.cliVersion.median / s.build.median) * 100).toFixed(0)}% of the build`),
      seriesRow("reference: node -e 0 (the runtime's start-up)", s.nodeStart, `${((s.nodeStart.median / s.build.median) * 100).toFixed(0)}% of the build`),
    ]),
    "",
    `${processCount(s.profile)} child processes per build; peak RSS ${s.maxRssMiB === null ? "n/a" : `${s.maxRssMiB.toFixed(1)} MiB`}.`,
    "",
    reportProfile(s.profile),
  ].join("\n");
}
