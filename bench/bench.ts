// `npm run bench [-- NAME...]`: how fast shimboot is, each figure against a
// reference measured in the same run (medians of several runs, wall time,
// warm page cache). Measurements, one file each:
//   extract      initramfs extraction vs the old scripts' binwalk pipeline (extraction.ts)
//   small        a small build vs Node's and the CLI's start-up; ≤ 1.0 s, profiled (small-build.ts)
//   image        build --rootfs IMAGE, 2 GiB image / 1 GiB used, vs cp --sparse=always + sync; ≤ 1.3× (build-image.ts)
//   image-large  the same on a 6 GiB image / 4 GiB used, a desktop closure's size (build-image.ts)
//   dir          build --rootfs DIR vs cp -a + sync of the tree (build-dir.ts)
//   profile      where a build --rootfs IMAGE spends its time, step by step (profile.ts)
//   make-ext4    nix/rootfs/make-ext4.sh on the 1 GiB tree vs cp -a + sync (make-ext4.ts)
// With no NAME, all of them. Peak memory (≤ 150 MiB) comes with every build.
// Everything temporary lives in one private directory, removed at the end;
// generated inputs are cached under .cache/bench, results go to
// .cache/bench/results.json.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, freemem, loadavg, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { benchCache, fixtures, snapshotApp, toolVersion } from "./lib/app.js";
import { ROOTFS_1G, ROOTFS_4G, ROOTFS_SMALL, rootfsInput } from "./lib/inputs.js";
import { haveGnuTime } from "./lib/process.js";
import { fmtS, GiB, log } from "./lib/report.js";
import { now, sec } from "./lib/stats.js";
import { benchExtraction, reportExtraction } from "./extraction.js";
import { benchSmallBuild, reportSmallBuild } from "./small-build.js";
import { benchImageBuild, buildArgs, reportImageBuild } from "./build-image.js";
import { benchDirBuild, reportDirBuild } from "./build-dir.js";
import { profileRun, reportProfile } from "./profile.js";
import { benchMakeExt4, reportMakeExt4 } from "./make-ext4.js";

const NAMES = ["extract", "small", "image", "image-large", "dir", "profile", "make-ext4"] as const;
type Name = (typeof NAMES)[number];
const ROUNDS = 3;

const load = () => loadavg().map((x) => +x.toFixed(2));

async function main() {
  const asked = process.argv.slice(2).filter((a) => a !== "--");
  const unknown = asked.filter((a) => !(NAMES as readonly string[]).includes(a));
  if (unknown.length) throw new Error(`unknown measurement ${unknown.join(", ")}; choose from ${NAMES.join(", ")}`);
  const selected = new Set<Name>(asked.length ? (asked as Name[]) : NAMES);
  const started = now();
  const tmp = await mkdtemp(join(process.env.TMPDIR || tmpdir(), "shimboot-bench-"));
  const onSignal = () => void rm(tmp, { recursive: true, force: true }).finally(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const results: Record<string, unknown> = {};
  const sections: string[] = [];
  const loads: Record<string, { before: number[]; after: number[] }> = {};
  const measure = async <T>(name: Name, run: () => Promise<T>, report: (r: T) => string) => {
    if (!selected.has(name)) return;
    const before = load();
    const r = await run();
    loads[name] = { before, after: load() };
    results[name] = r;
    sections.push(report(r) + `\n(load average ${before.join(" ")} before, ${load().join(" ")} after)\n`);
  };
  try {
    const app = await snapshotApp(tmp);
    const fx = await fixtures(tmp);
    log(`fixtures (${fx.via}): ${fx.shim}, ${fx.recovery}`);
    await measure("extract", () => benchExtraction(app, fx.shim, tmp), reportExtraction);
    await measure("small", async () => benchSmallBuild(app, fx, await rootfsInput(ROOTFS_SMALL), tmp), reportSmallBuild);
    await measure("image", async () => benchImageBuild(app, fx, await rootfsInput(ROOTFS_1G), tmp, ROUNDS), reportImageBuild);
    await measure("image-large", async () => benchImageBuild(app, fx, await rootfsInput(ROOTFS_4G), tmp, ROUNDS), reportImageBuild);
    await measure("dir", async () => benchDirBuild(app, fx, await rootfsInput(ROOTFS_1G), tmp, ROUNDS), reportDirBuild);
    await measure(
      "profile",
      async () => {
        const image = (await rootfsInput(ROOTFS_1G)).image!;
        const out = join(tmp, "profiled.bin");
        return profileRun("build --rootfs IMAGE (2 GiB image, 1 GiB used)", [process.execPath, ...buildArgs(app, fx, image, out)], out, tmp);
      },
      reportProfile,
    );
    await measure("make-ext4", async () => benchMakeExt4(await rootfsInput(ROOTFS_1G), tmp, ROUNDS), reportMakeExt4);

    const host = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "", memoryGiB: +(totalmem() / GiB).toFixed(1), freeMemoryGiB: +(freemem() / GiB).toFixed(1), kernel: release(), node: process.version };
    const tools = { e2fsprogs: await toolVersion("mke2fs -V 2>&1"), coreutils: await toolVersion("cp --version"), binwalk: await toolVersion("binwalk --help 2>&1 | grep -m1 -i binwalk"), gnuTime: haveGnuTime };
    const totalSeconds = +sec(now() - started).toFixed(1);
    await mkdir(benchCache, { recursive: true });
    const resultsPath = join(benchCache, "results.json");
    await writeFile(resultsPath, JSON.stringify({ date: new Date().toISOString(), host, tools, fixtures: fx, loads, results, totalSeconds }, null, 2) + "\n");
    process.stdout.write(
      `Host: ${host.cpus} CPUs (${host.cpuModel}), node ${host.node}, ${tools.e2fsprogs}; other work on the machine adds noise: the load average is given with each measurement.\n\n` +
        sections.join("\n") +
        `\nTotal bench time ${fmtS(totalSeconds)}. Results: ${resultsPath}\n`,
    );
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
