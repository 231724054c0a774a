// `npm run bench`: two benchmarks, each against a reference measured in the
// same run (medians of several runs, wall times):
//
//  1. initramfs extraction from the x86 fixture shim: our reader (in-process
//     and the CLI end to end) vs the old shell scripts' binwalk pipeline
//     (dd KERN-A, binwalk -y gzip, dd | gunzip, binwalk -y xz, dd | xz -d | cpio -id);
//  2. image build from a 2 GiB ext4 rootfs holding ~1 GiB of data: `shimboot
//     build` vs one plain `cp --sparse=always` of the rootfs image, with the
//     build's peak memory and the output's allocated size; the same for a
//     --rootfs DIR build; then one profiled build (time per step and tool).
//
// Everything temporary lives in one private mkdtemp directory, removed at the
// end; the generated rootfs is cached under .cache/bench, the results go to
// .cache/bench/results.json (out of git).
import { $ } from "zx";
import { spawn } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { cpus, freemem, loadavg, release, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

$.quiet = true;
$.verbose = false;

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
/**
 * Where the code under test is loaded from: a private snapshot of dist/scripts
 * (with scripts/bootloader, nix/, package.json and the runtime dependencies
 * beside it), taken right after
 * the compile, so that others recompiling the shared tree mid-run cannot mix
 * two versions of the program into one measurement.
 */
let appRoot = repoRoot;
let cli = join(repoRoot, "dist/scripts/cli.js");
const benchCache = join(repoRoot, ".cache", "bench");
const resultsPath = join(benchCache, "results.json");

/** Bump when the generated rootfs changes (its cache key). */
const ROOTFS_VERSION = "rootfs-v1:64x16MiB+3000small+sbin/init:ext4-2G";
const BIG_FILES = 64;
const BIG_FILE_BYTES = 16 * 1024 * 1024;
const SMALL_DIRS = 30;
const SMALL_PER_DIR = 100;
const ROOTFS_IMAGE_SIZE = "2G";

const RUNS_FAST = 5;
const RUNS_SLOW = 3; // the old pipeline with dd bs=1 takes seconds per run
const RUNS_BIG = 3;

const PAGE_KIB = 4; // /proc/PID/statm pages (x86_64, arm64 with 4 KiB pages)

// ── small helpers ───────────────────────────────────────────────────────

const now = () => performance.now();
const sec = (ms: number) => ms / 1000;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Series {
  runs: number;
  /** seconds */
  times: number[];
  median: number;
  min: number;
  max: number;
}

function series(timesMs: number[]): Series {
  const t = timesMs.map(sec);
  return { runs: t.length, times: t.map((x) => +x.toFixed(4)), median: +median(t).toFixed(4), min: +Math.min(...t).toFixed(4), max: +Math.max(...t).toFixed(4) };
}

async function timeRuns(n: number, warmups: number, f: () => Promise<void>, after?: () => Promise<void>): Promise<Series> {
  for (let i = 0; i < warmups; i++) {
    await f();
    await after?.();
  }
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = now();
    await f();
    ts.push(now() - t);
    await after?.();
  }
  return series(ts);
}

function log(msg: string) {
  process.stderr.write(`bench: ${msg}\n`);
}

const fmtS = (s: number) => (s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`);
const fmtGiB = (b: number) => `${(b / GiB).toFixed(3)} GiB`;

async function toolVersion(cmd: string): Promise<string> {
  const r = await $`bash -c ${cmd}`.nothrow();
  return (r.stdout + r.stderr).trim().split("\n")[0] ?? "";
}

// ── fixtures ────────────────────────────────────────────────────────────

interface Fixtures {
  shim: string;
  recovery: string;
  via: string;
}

/**
 * The test fixtures (built with the real tools and cached by the test
 * suite's generator). The compiled fixtures.js hashes its own .ts sources
 * beside itself, which dist/ lacks, so when it fails the TypeScript module
 * is run with vitest's vite-node instead.
 */
async function fixtures(tmp: string): Promise<Fixtures> {
  try {
    const m = (await import(pathToFileURL(join(repoRoot, "dist/test/fixtures/fixtures.js")).href)) as { fixture(name: string): Promise<string> };
    return { shim: await m.fixture("shim-x86"), recovery: await m.fixture("recovery-x86"), via: "dist/test/fixtures/fixtures.js" };
  } catch (e) {
    log(`dist/test/fixtures/fixtures.js failed (${(e as Error).message.split("\n")[0]}); using vite-node on test/fixtures/fixtures.ts`);
  }
  const script = join(tmp, "resolve-fixtures.ts");
  await writeFile(
    script,
    `import { fixture } from ${JSON.stringify(join(repoRoot, "test/fixtures/fixtures.ts"))};\n` +
      `process.stdout.write(JSON.stringify({ shim: await fixture("shim-x86"), recovery: await fixture("recovery-x86") }) + "\\n");\n`,
  );
  const r = await $({ cwd: repoRoot })`${join(repoRoot, "node_modules/.bin/vite-node")} ${script}`;
  const line = r.stdout.trim().split("\n").pop() ?? "";
  const j = JSON.parse(line) as { shim: string; recovery: string };
  return { ...j, via: "vite-node test/fixtures/fixtures.ts" };
}

// ── 1. initramfs extraction ─────────────────────────────────────────────

/**
 * The old shell scripts' extraction, verbatim apart from two things this
 * binwalk needs: KERN-A is cut out with cgpt + dd, and binwalk 2.3 prints
 * "xz compressed data" in lower case (the scripts grepped "XZ").
 * $3 = 1 → dd bs=1 as the scripts did; $3 = fast → dd iflag=skip_bytes bs=1M
 * (the same pipeline without the byte-at-a-time dd, to isolate binwalk).
 */
const BINWALK_PIPELINE = String.raw`
shim=$1; work=$2; mode=$3
cd "$work"
start=$(cgpt show -i 2 -b "$shim"); size=$(cgpt show -i 2 -s "$shim")
dd if="$shim" of=kernel.bin bs=512 skip="$start" count="$size" status=none
skip() { if [ "$mode" = 1 ]; then dd if="$1" bs=1 skip="$2" status=none; else dd if="$1" iflag=skip_bytes bs=1M skip="$2" status=none; fi; }
gzip_offset=$(binwalk -y gzip kernel.bin | grep "gzip compressed data" | head -n 1 | awk '{print $1}')
skip kernel.bin "$gzip_offset" | gunzip > vmlinux 2>/dev/null
xz_offset=$(binwalk -y xz vmlinux | grep -i "XZ compressed data" | head -n 1 | awk '{print $1}')
mkdir root && cd root
skip ../vmlinux "$xz_offset" | xz -d 2>/dev/null | cpio -id --quiet
`;

interface ExtractResult {
  fixture: string;
  entries: number;
  busyboxBytes: number;
  oursInProcess: Series;
  oursKernelOnly: Series;
  oursCli: Series;
  binwalkOldScripts: Series;
  binwalkFastDd: Series;
  ratios: { oldScriptsVsInProcess: number; oldScriptsVsCli: number; fastDdVsInProcess: number; fastDdVsCli: number };
  binwalkCheck: string;
}

async function benchExtraction(shim: string, tmp: string): Promise<ExtractResult> {
  type Img = { kernel: { initramfs: { found: { entries: { path: string; data: Buffer }[] } | null } }; close(): Promise<void> };
  const ci = (await import(pathToFileURL(join(appRoot, "dist/scripts/read/chromeos-image.js")).href)) as { readShim(p: string): Promise<Img> };
  const { ImageFile } = (await import(pathToFileURL(join(appRoot, "dist/scripts/read/image-file.js")).href)) as {
    ImageFile: { open(p: string): Promise<{ read(o: number, l: number): Promise<Buffer>; close(): Promise<void> }> };
  };
  const { readPartitionTable } = (await import(pathToFileURL(join(appRoot, "dist/scripts/read/gpt.js")).href)) as {
    readPartitionTable(img: unknown): Promise<{ partitions: { label: string; start: number; size: number }[] }>;
  };
  const { readKernel } = (await import(pathToFileURL(join(appRoot, "dist/scripts/read/kernel.js")).href)) as {
    readKernel(part: Buffer, where: string): Promise<{ initramfs: { found: { entries: unknown[] } | null } }>;
  };

  // what our reader finds: the reference for checking the binwalk output
  const first = await ci.readShim(shim);
  const entries = first.kernel.initramfs.found?.entries ?? [];
  await first.close();
  const busybox = entries.find((e) => e.path === "bin/busybox");
  if (!busybox) throw new Error("our reader found no bin/busybox in the fixture's initramfs");

  log("extraction: ours, in-process readShim");
  const oursInProcess = await timeRuns(RUNS_FAST, 1, async () => {
    const img = await ci.readShim(shim);
    try {
      const found = img.kernel.initramfs.found;
      if (!found || found.entries.length !== entries.length) throw new Error("readShim: initramfs missing");
    } finally {
      await img.close();
    }
  });

  log("extraction: ours, in-process kernel only (GPT + KERN-A + readKernel)");
  const oursKernelOnly = await timeRuns(RUNS_FAST, 1, async () => {
    const img = await ImageFile.open(shim);
    try {
      const table = await readPartitionTable(img);
      const kern = table.partitions.find((p) => p.label === "KERN-A")!;
      const k = await readKernel(await img.read(kern.start * 512, kern.size * 512), "bench");
      if (k.initramfs.found?.entries.length !== entries.length) throw new Error("readKernel: initramfs missing");
    } finally {
      await img.close();
    }
  });

  log("extraction: ours, CLI end to end (inspect --json --no-hash)");
  const oursCli = await timeRuns(RUNS_FAST, 1, async () => {
    const r = await $`${process.execPath} ${cli} inspect --json --no-hash ${shim}`;
    const j = JSON.parse(r.stdout) as { kernel?: { initramfs?: { present?: boolean; files?: number } } };
    if (!j.kernel?.initramfs?.present || j.kernel.initramfs.files !== entries.length) throw new Error(`inspect: unexpected initramfs ${JSON.stringify(j.kernel?.initramfs)}`);
  });

  // the binwalk pipeline, checked after every run: every entry extracted, busybox whole
  const work = join(tmp, "binwalk");
  let check = "";
  const runPipeline = (mode: string) => async () => {
    await rm(work, { recursive: true, force: true });
    await mkdir(work);
    await $`bash -c ${BINWALK_PIPELINE} pipeline ${shim} ${work} ${mode}`.nothrow();
  };
  const verify = async () => {
    const root = join(work, "root");
    const st = await stat(join(root, "bin/busybox")).catch(() => null);
    if (!st || st.size !== busybox.data.length) throw new Error(`the binwalk pipeline did not extract bin/busybox (${st ? `${st.size} bytes, expected ${busybox.data.length}` : "missing"})`);
    const n = Number((await $`find ${root} -mindepth 1 | wc -l`).stdout.trim());
    if (n !== entries.length) throw new Error(`the binwalk pipeline extracted ${n} entries, our reader ${entries.length}`);
    check = `bin/busybox ${st.size} bytes and ${n}/${entries.length} entries extracted on every run`;
    await rm(work, { recursive: true, force: true });
  };
  log("extraction: binwalk pipeline with dd iflag=skip_bytes bs=1M (also warms binwalk)");
  const binwalkFastDd = await timeRuns(RUNS_FAST, 1, runPipeline("fast"), verify);
  log("extraction: binwalk pipeline as the old scripts ran it (dd bs=1)");
  const binwalkOldScripts = await timeRuns(RUNS_SLOW, 0, runPipeline("1"), verify);

  const r = (a: Series, b: Series) => +(a.median / b.median).toFixed(1);
  return {
    fixture: shim,
    entries: entries.length,
    busyboxBytes: busybox.data.length,
    oursInProcess,
    oursKernelOnly,
    oursCli,
    binwalkOldScripts,
    binwalkFastDd,
    ratios: { oldScriptsVsInProcess: r(binwalkOldScripts, oursInProcess), oldScriptsVsCli: r(binwalkOldScripts, oursCli), fastDdVsInProcess: r(binwalkFastDd, oursInProcess), fastDdVsCli: r(binwalkFastDd, oursCli) },
    binwalkCheck: check,
  };
}

// ── 2. the rootfs input (generated once, cached) ────────────────────────

interface RootfsInput {
  dir: string;
  image: string;
  key: string;
  imageBytes: number;
  usedBytes: number;
  dataBytes: number;
  files: number;
  generatedNow: boolean;
}

async function extUsage(spec: string): Promise<{ blockSize: number; blockCount: number; freeBlocks: number } | null> {
  const r = await $`dumpe2fs -h ${spec}`.nothrow();
  if (r.exitCode !== 0) return null;
  const f = (name: string) => Number(new RegExp(`^${name}:\\s*(\\d+)`, "m").exec(r.stdout)?.[1] ?? NaN);
  return { blockSize: f("Block size"), blockCount: f("Block count"), freeBlocks: f("Free blocks") };
}

async function rootfsInput(): Promise<RootfsInput> {
  const mke2fsVersion = await toolVersion("mke2fs -V 2>&1");
  const key = createHash("sha256").update(`${ROOTFS_VERSION}\n${mke2fsVersion}`).digest("hex").slice(0, 12);
  const base = join(benchCache, `rootfs-${key}`);
  const dir = join(base, "root");
  const image = join(base, "rootfs.img");
  const files = BIG_FILES + SMALL_DIRS * SMALL_PER_DIR + 1;
  let generatedNow = false;
  if (!existsSync(join(base, "ok"))) {
    generatedNow = true;
    log(`generating the rootfs input in ${base} (once; cached)`);
    await mkdir(benchCache, { recursive: true });
    const gen = await mkdtemp(join(benchCache, ".gen-"));
    try {
      const root = join(gen, "root");
      await mkdir(join(root, "data/big"), { recursive: true });
      await mkdir(join(root, "sbin"), { recursive: true });
      const buf = Buffer.alloc(BIG_FILE_BYTES);
      for (let i = 0; i < BIG_FILES; i++) await writeFile(join(root, `data/big/f${String(i).padStart(2, "0")}`), randomFillSync(buf));
      for (let d = 0; d < SMALL_DIRS; d++) {
        await mkdir(join(root, `data/small/d${d}`), { recursive: true });
        for (let k = 0; k < SMALL_PER_DIR; k++) {
          const size = (((d * SMALL_PER_DIR + k) * 7919) % 16000) + 100;
          await writeFile(join(root, `data/small/d${d}/f${k}`), randomFillSync(Buffer.alloc(size)));
        }
      }
      await writeFile(join(root, "sbin/init"), "#!/bin/sh\nexec /bin/sh\n");
      await chmod(join(root, "sbin/init"), 0o755);
      await $`mke2fs -q -F -t ext4 -L bench-rootfs -d ${root} ${join(gen, "rootfs.img")} ${ROOTFS_IMAGE_SIZE}`;
      await writeFile(join(gen, "ok"), `${ROOTFS_VERSION}\n${mke2fsVersion}\n`);
      await rm(base, { recursive: true, force: true });
      await rename(gen, base);
    } catch (e) {
      await rm(gen, { recursive: true, force: true });
      throw e;
    }
  }
  const u = await extUsage(image);
  if (!u) throw new Error(`${image} is not an ext4 image; remove ${base}`);
  const dataBytes = Number((await $`du -sb ${dir}`).stdout.split(/\s/)[0]);
  return { dir, image, key, imageBytes: (await stat(image)).size, usedBytes: (u.blockCount - u.freeBlocks) * u.blockSize, dataBytes, files, generatedNow };
}

// ── 2. running a build with its memory measured ─────────────────────────

/** Sum of VmRSS over a process and all its descendants, in KiB. */
function treeRssKiB(rootPid: number): number {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = readFileSync(`/proc/${name}/stat`, "latin1");
      const ppid = Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      /* exited */
    }
  }
  let total = 0;
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop()!;
    try {
      total += Number(readFileSync(`/proc/${pid}/statm`, "latin1").split(" ")[1]) * PAGE_KIB;
    } catch {
      /* exited */
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

interface RunOut {
  wallMs: number;
  /** GNU time %M: the largest RSS of any single process of the build (KiB) */
  maxRssKiB: number | null;
  /** largest sampled sum of RSS over the whole process tree (KiB) */
  treePeakKiB: number;
}

const haveGnuTime = existsSync("/usr/bin/time");

async function runMeasured(cmd: string, args: string[], tmp: string, env: NodeJS.ProcessEnv = process.env): Promise<RunOut> {
  const memFile = join(tmp, "maxrss.txt");
  await rm(memFile, { force: true });
  const argv = haveGnuTime ? ["/usr/bin/time", "-f", "%M", "-o", memFile, cmd, ...args] : [cmd, ...args];
  let stderr = "";
  const t0 = now();
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"], env });
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  let peak = 0;
  const timer = setInterval(() => {
    if (child.pid) peak = Math.max(peak, treeRssKiB(child.pid));
  }, 50);
  const code = await new Promise<number | null>((res, rej) => {
    child.on("error", rej);
    child.on("exit", (c) => res(c));
  });
  const wallMs = now() - t0;
  clearInterval(timer);
  if (code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${stderr}`);
  const maxRssKiB = haveGnuTime ? Number((await readFile(memFile, "utf8")).trim().split("\n").pop()) : null;
  return { wallMs, maxRssKiB, treePeakKiB: peak };
}

interface OutputSizes {
  apparentBytes: number;
  allocatedBytes: number;
  /** used blocks of every ext file system in the image plus the kernel partitions' length */
  dataBytes: number;
  partitions: { index: number; startSector: number; sectors: number; usedBytes: number | null }[];
}

async function outputSizes(img: string): Promise<OutputSizes> {
  const st = await stat(img);
  const rows = (await $`cgpt show -q -n ${img}`).stdout.trim().split("\n");
  const partitions: OutputSizes["partitions"] = [];
  let data = 0;
  for (const row of rows) {
    const [s, z, i] = row.trim().split(/\s+/).map(Number);
    if (s === undefined || z === undefined || i === undefined) continue;
    const u = await extUsage(`${img}?offset=${s * 512}`);
    const used = u ? (u.blockCount - u.freeBlocks) * u.blockSize : null;
    partitions.push({ index: i, startSector: s, sectors: z, usedBytes: used });
    data += used ?? z * 512; // non-ext partitions (the kernel) count whole
  }
  return { apparentBytes: st.size, allocatedBytes: st.blocks * 512, dataBytes: data, partitions };
}

// ── 2. image build benchmark ────────────────────────────────────────────

interface BuildSide {
  wall: Series;
  ratioVsCp: number;
  ratioVsCpFsync: number;
  maxRssMiB: { median: number; max: number } | null;
  treePeakMiB: { median: number; max: number };
  output: OutputSizes;
}

interface BuildResult {
  rootfs: RootfsInput & { cpAllocatedBytes: number };
  cacheNote: string;
  cp: Series;
  cpFsync: Series;
  cpDir: Series | null;
  image: BuildSide;
  dir: (BuildSide & { ratioVsCpDir: number }) | null;
}

async function benchBuild(fx: Fixtures, rootfs: RootfsInput, tmp: string, withDir: boolean): Promise<BuildResult> {
  const copy = join(tmp, "copy.img");
  const copyDir = join(tmp, "copy-dir");
  const out = join(tmp, "out.bin");
  const buildArgs = (src: string) => [cli, "build", "--shim", fx.shim, "--recovery", fx.recovery, "--rootfs", src, "--out", out, "--force"];
  const doCp = async () => void (await $`cp --sparse=always ${rootfs.image} ${copy}`);
  const doCpFsync = async () => void (await $`cp --sparse=always ${rootfs.image} ${copy} && sync ${copy}`);
  const doCpDir = async () => void (await $`cp -a ${rootfs.dir} ${copyDir}`);

  // warm the page cache for both sides equally: one untimed read of each input
  log("build: warming the page cache (untimed cp of the image and the directory, one untimed build)");
  await doCp();
  const cpAllocatedBytes = (await stat(copy)).blocks * 512;
  await rm(copy, { force: true });
  if (withDir) {
    await doCpDir();
    await rm(copyDir, { recursive: true, force: true });
  }
  await runMeasured(process.execPath, buildArgs(rootfs.image), tmp);
  await rm(out, { force: true });

  const cpTimes: number[] = [];
  const cpFsyncTimes: number[] = [];
  const cpDirTimes: number[] = [];
  const imgRuns: RunOut[] = [];
  const dirRuns: RunOut[] = [];
  let imgOut: OutputSizes | null = null;
  let dirOut: OutputSizes | null = null;
  for (let i = 0; i < RUNS_BIG; i++) {
    log(`build: round ${i + 1}/${RUNS_BIG}: cp, build --rootfs IMAGE, cp+fsync${withDir ? ", cp -a DIR, build --rootfs DIR" : ""}`);
    let t = now();
    await doCp();
    cpTimes.push(now() - t);
    await rm(copy, { force: true });

    imgRuns.push(await runMeasured(process.execPath, buildArgs(rootfs.image), tmp));
    imgOut ??= await outputSizes(out);
    await rm(out, { force: true });

    t = now();
    await doCpFsync();
    cpFsyncTimes.push(now() - t);
    await rm(copy, { force: true });

    if (withDir) {
      t = now();
      await doCpDir();
      cpDirTimes.push(now() - t);
      await rm(copyDir, { recursive: true, force: true });

      dirRuns.push(await runMeasured(process.execPath, buildArgs(rootfs.dir), tmp));
      dirOut ??= await outputSizes(out);
      await rm(out, { force: true });
    }
  }
  const cp = series(cpTimes);
  const cpFsync = series(cpFsyncTimes);
  const side = (runs: RunOut[], output: OutputSizes): BuildSide => {
    const wall = series(runs.map((r) => r.wallMs));
    const rss = runs.map((r) => r.maxRssKiB).filter((x): x is number => x !== null);
    const toMiB = (k: number) => +(k / 1024).toFixed(1);
    return {
      wall,
      ratioVsCp: +(wall.median / cp.median).toFixed(2),
      ratioVsCpFsync: +(wall.median / cpFsync.median).toFixed(2),
      maxRssMiB: rss.length ? { median: toMiB(median(rss)), max: toMiB(Math.max(...rss)) } : null,
      treePeakMiB: { median: toMiB(median(runs.map((r) => r.treePeakKiB))), max: toMiB(Math.max(...runs.map((r) => r.treePeakKiB))) },
      output,
    };
  };
  const cpDir = withDir ? series(cpDirTimes) : null;
  const dirSide = withDir && dirOut ? side(dirRuns, dirOut) : null;
  return {
    rootfs: { ...rootfs, cpAllocatedBytes },
    cacheNote: "warm page cache for every run (caches are not dropped); cp and build alternate within each round after one untimed cp and one untimed build",
    cp,
    cpFsync,
    cpDir,
    image: side(imgRuns, imgOut!),
    dir: dirSide && cpDir ? { ...dirSide, ratioVsCpDir: +(dirSide.wall.median / cpDir.median).toFixed(2) } : null,
  };
}

// ── 2. where the build's time goes ──────────────────────────────────────

const WRAPPED_TOOLS = ["cgpt", "futility", "debugfs", "dumpe2fs", "e2image", "resize2fs", "e2fsck", "fsck.ext4", "mke2fs", "mkfs.ext4", "tune2fs", "xz", "zstd", "lz4", "bzip2", "lzop", "gzip", "depmod", "modinfo", "fakeroot", "sync", "cpio", "sha256sum", "nix-instantiate"];

interface ToolCall {
  tool: string;
  start: number; // ms since epoch
  end: number;
  args: string;
}

interface Phase {
  step: string;
  seconds: number;
  toolSeconds: number;
  /** phase wall time not covered by any tool process (Node's own work) */
  nodeSeconds: number;
  tools: { tool: string; calls: number; seconds: number }[];
}

interface Profile {
  rootfs: "image" | "dir";
  wallSeconds: number;
  phases: Phase[];
  standalone: Record<string, number>;
  slowestCalls: { tool: string; seconds: number; args: string }[];
}

/** Wrappers on PATH that log each tool's start and end ($EPOCHREALTIME: no forks). */
async function makeWrappers(dir: string, logFile: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const wrapped: string[] = [];
  for (const tool of WRAPPED_TOOLS) {
    const real = (await $`command -v ${tool}`.nothrow()).stdout.trim();
    if (!real || !real.startsWith("/")) continue;
    const w = join(dir, tool);
    await writeFile(
      w,
      `#!/bin/bash\ns=$EPOCHREALTIME\n${JSON.stringify(real)} "$@"\nrc=$?\ne=$EPOCHREALTIME\na="$*"\nprintf '%s\\t%s\\t%s\\t%s\\n' ${tool} "$s" "$e" "\${a:0:160}" >> ${JSON.stringify(logFile)}\nexit $rc\n`,
    );
    await chmod(w, 0o755);
    wrapped.push(tool);
  }
  return wrapped;
}

function unionMs(intervals: [number, number][]): number {
  const s = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let cur: [number, number] | null = null;
  for (const [a, b] of s) {
    if (!cur || a > cur[1]) {
      if (cur) total += cur[1] - cur[0];
      cur = [a, b];
    } else cur[1] = Math.max(cur[1], b);
  }
  if (cur) total += cur[1] - cur[0];
  return total;
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

async function profileBuild(fx: Fixtures, rootfs: RootfsInput, src: "image" | "dir", tmp: string): Promise<Profile> {
  const wrapDir = join(tmp, "wrappers");
  const logFile = join(tmp, `tools-${src}.log`);
  await makeWrappers(wrapDir, logFile);
  await rm(logFile, { force: true });
  const out = join(tmp, "out.bin");
  const cmd = [process.execPath, cli, "build", "--shim", fx.shim, "--recovery", fx.recovery, "--rootfs", src === "image" ? rootfs.image : rootfs.dir, "--out", out, "--force"].map(shq).join(" ");
  const wall = () => performance.timeOrigin + performance.now();
  const marks: { t: number; step: string }[] = [];
  const t0 = wall();
  // script(1) gives the CLI a terminal, so it prints its progress steps; each line is timestamped on arrival
  const child = spawn("script", ["-qfec", cmd, "/dev/null"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PATH: `${wrapDir}:${process.env.PATH}` } });
  let text = "";
  const rl = createInterface({ input: child.stdout });
  rl.on("line", (line) => {
    text += line + "\n";
    const m = /\[\s*[\d.]+s\] (.*)$/.exec(line.replace(/\r/g, ""));
    if (m) marks.push({ t: wall(), step: m[1]! });
  });
  const code = await new Promise<number | null>((res, rej) => {
    child.on("error", rej);
    child.on("exit", (c) => res(c));
  });
  const t1 = wall();
  await rm(out, { force: true });
  if (code !== 0) throw new Error(`profiled build failed (exit ${code}):\n${text}`);
  if (marks.length === 0) throw new Error(`profiled build printed no progress (is script(1) giving it a terminal?):\n${text}`);

  const calls: ToolCall[] = (existsSync(logFile) ? readFileSync(logFile, "utf8") : "")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [tool, s, e, args] = l.split("\t");
      return { tool: tool!, start: Number(s) * 1000, end: Number(e) * 1000, args: args ?? "" };
    });
  const bounds = [{ t: t0, step: "start-up: node, module load, options" }, ...marks.filter((m) => !m.step.startsWith("done")), { t: marks.find((m) => m.step.startsWith("done"))?.t ?? t1, step: "after done: close, remove work dir, exit" }];
  const phases: Phase[] = [];
  for (let i = 0; i < bounds.length; i++) {
    const from = bounds[i]!.t;
    const to = i + 1 < bounds.length ? bounds[i + 1]!.t : t1;
    const inside = calls.filter((c) => c.start >= from && c.start < to);
    const byTool = new Map<string, { calls: number; ms: number }>();
    for (const c of inside) {
      const b = byTool.get(c.tool) ?? { calls: 0, ms: 0 };
      b.calls++;
      b.ms += c.end - c.start;
      byTool.set(c.tool, b);
    }
    const toolMs = unionMs(inside.map((c) => [Math.max(c.start, from), Math.min(c.end, to)]));
    phases.push({
      step: bounds[i]!.step,
      seconds: +sec(to - from).toFixed(3),
      toolSeconds: +sec(toolMs).toFixed(3),
      nodeSeconds: +sec(Math.max(0, to - from - toolMs)).toFixed(3),
      tools: [...byTool].map(([tool, b]) => ({ tool, calls: b.calls, seconds: +sec(b.ms).toFixed(3) })).sort((a, b) => b.seconds - a.seconds),
    });
  }
  const slowestCalls = [...calls].sort((a, b) => b.end - b.start - (a.end - a.start)).slice(0, 8).map((c) => ({ tool: c.tool, seconds: +sec(c.end - c.start).toFixed(3), args: c.args }));
  return { rootfs: src, wallSeconds: +sec(t1 - t0).toFixed(3), phases, standalone: {}, slowestCalls };
}

/** In-process timings of the Node-side work in the "reading" step, to attribute it. */
async function standaloneReadTimings(fx: Fixtures, rootfs: RootfsInput): Promise<Record<string, number>> {
  const imp = async <T>(p: string) => (await import(pathToFileURL(join(appRoot, p)).href)) as T;
  const { sha256File } = await imp<{ sha256File(p: string): Promise<unknown> }>("dist/scripts/read/hash.js");
  const { readShim, readChromeOsImage } = await imp<{ readShim(p: string): Promise<{ close(): Promise<void> }>; readChromeOsImage(p: string): Promise<{ close(): Promise<void> }> }>("dist/scripts/read/chromeos-image.js");
  const { readRootfsInput } = await imp<{ readRootfsInput(p: string): Promise<unknown> }>("dist/scripts/read/rootfs-input.js");
  const out: Record<string, number> = {};
  const time = async (name: string, f: () => Promise<unknown>) => {
    const t = now();
    await f();
    out[name] = +sec(now() - t).toFixed(3);
  };
  await time("sha256File(rootfs.img, 2 GiB apparent)", () => sha256File(rootfs.image));
  await time("sha256File(shim)", () => sha256File(fx.shim));
  await time("sha256File(recovery)", () => sha256File(fx.recovery));
  await time("readShim(shim)", async () => (await readShim(fx.shim)).close());
  await time("readChromeOsImage(recovery)", async () => (await readChromeOsImage(fx.recovery)).close());
  await time("readRootfsInput(rootfs.img) incl. its sha256", () => readRootfsInput(rootfs.image));
  await time("readRootfsInput(dir) (walk + listing hash)", () => readRootfsInput(rootfs.dir));
  await time("cat rootfs.img > /dev/null (read bandwidth)", () => $`cat ${rootfs.image} > /dev/null`);
  return out;
}

// ── report ──────────────────────────────────────────────────────────────

function table(headers: string[], rows: string[][]): string {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => c.padEnd(w[i]!)).join(" | ") + " |";
  return [line(headers), "|" + w.map((n) => "-".repeat(n + 2)).join("|") + "|", ...rows.map(line)].join("\n");
}

const sRow = (name: string, s: Series, note: string) => [name, String(s.runs), fmtS(s.median), `${fmtS(s.min)} – ${fmtS(s.max)}`, note];

function report(ex: ExtractResult | null, b: BuildResult | null, profiles: Profile[]): string {
  const out: string[] = [];
  if (ex) {
    out.push("## 1. Initramfs extraction (x86 fixture shim: gzip payload, xz initramfs)", "");
    out.push(
      table(["variant", "runs", "median", "min – max", "ratio (binwalk / this)"], [
        sRow("ours: readShim in-process (GPT, KERN-A, initramfs + cpio, ROOT-A facts)", ex.oursInProcess, `old ${ex.ratios.oldScriptsVsInProcess}× · fast-dd ${ex.ratios.fastDdVsInProcess}×`),
        sRow("ours: kernel only in-process (GPT + KERN-A + readKernel)", ex.oursKernelOnly, `old ${(ex.binwalkOldScripts.median / ex.oursKernelOnly.median).toFixed(1)}× · fast-dd ${(ex.binwalkFastDd.median / ex.oursKernelOnly.median).toFixed(1)}×`),
        sRow("ours: CLI `inspect --json --no-hash` (process start-up included)", ex.oursCli, `old ${ex.ratios.oldScriptsVsCli}× · fast-dd ${ex.ratios.fastDdVsCli}×`),
        sRow("reference: old scripts' binwalk pipeline (dd bs=1)", ex.binwalkOldScripts, "reference"),
        sRow("reference: same pipeline, dd iflag=skip_bytes bs=1M", ex.binwalkFastDd, "reference (binwalk cost alone)"),
      ]),
      "",
      `Check: ${ex.binwalkCheck}; our reader: ${ex.entries} entries, bin/busybox ${ex.busyboxBytes} bytes. Target ≥ 10× (binwalk / ours).`,
      "",
    );
  }
  if (b) {
    const r = b.rootfs;
    out.push(
      "## 2. Image build",
      "",
      `Rootfs input (cache key ${r.key}${r.generatedNow ? ", generated in this run" : ", cached"}): ext4 image ${fmtGiB(r.imageBytes)} apparent, ${fmtGiB(r.usedBytes)} used by the fs, ${fmtGiB(r.cpAllocatedBytes)} allocated after cp; directory ${r.files} files, ${fmtGiB(r.dataBytes)} of data.`,
      `Caches: ${b.cacheNote}.`,
      "",
    );
    const rows = [
      sRow("reference: cp --sparse=always rootfs.img", b.cp, "1.00×"),
      sRow("reference: cp --sparse=always + sync (fsync) the copy", b.cpFsync, `${(b.cpFsync.median / b.cp.median).toFixed(2)}× cp`),
      sRow("shimboot build --rootfs IMAGE", b.image.wall, `${b.image.ratioVsCp}× cp · ${b.image.ratioVsCpFsync}× cp+fsync (target ≤ 1.3× cp)`),
    ];
    if (b.dir && b.cpDir) {
      rows.push(sRow("reference: cp -a DIR", b.cpDir, `${(b.cpDir.median / b.cp.median).toFixed(2)}× cp`));
      rows.push(sRow("shimboot build --rootfs DIR", b.dir.wall, `${b.dir.ratioVsCp}× image cp · ${b.dir.ratioVsCpDir}× cp -a DIR`));
    }
    out.push(table(["variant", "runs", "median", "min – max", "ratio"], rows), "");
    const mem = (s: BuildSide) => `${s.maxRssMiB ? `${s.maxRssMiB.median} MiB (max ${s.maxRssMiB.max})` : "n/a"}`;
    const sizes = (s: BuildSide) => {
      const o = s.output;
      return [fmtGiB(o.apparentBytes), fmtGiB(o.allocatedBytes), fmtGiB(o.dataBytes), `${(o.allocatedBytes / o.dataBytes).toFixed(3)}`, `${(o.allocatedBytes / o.apparentBytes).toFixed(3)}`];
    };
    const mrows = [["--rootfs IMAGE", mem(b.image), `${b.image.treePeakMiB.median} MiB (max ${b.image.treePeakMiB.max})`, ...sizes(b.image)]];
    if (b.dir) mrows.push(["--rootfs DIR", mem(b.dir), `${b.dir.treePeakMiB.median} MiB (max ${b.dir.treePeakMiB.max})`, ...sizes(b.dir)]);
    out.push(
      table(["build", "peak RSS, largest process (GNU time %M)", "peak RSS, whole tree (sampled 50 ms)", "apparent", "allocated", "data", "alloc/data", "alloc/apparent"], mrows),
      "",
      "data = used blocks of every ext file system in the output (dumpe2fs) + the KERN-A partition's length. Target: peak ≤ 200 MiB.",
      "",
    );
  }
  for (const p of profiles) {
    out.push(`## Where the time goes: one profiled build --rootfs ${p.rootfs.toUpperCase()} (${fmtS(p.wallSeconds)} wall; tools wrapped on PATH, progress via script(1))`, "");
    out.push(
      table(
        ["step", "wall", "in tools", "in node", "tools (calls, summed time)"],
        p.phases.map((ph) => [ph.step, fmtS(ph.seconds), fmtS(ph.toolSeconds), fmtS(ph.nodeSeconds), ph.tools.map((t) => `${t.tool}×${t.calls} ${fmtS(t.seconds)}`).join(", ")]),
      ),
      "",
      "Slowest tool calls: " + p.slowestCalls.map((c) => `${c.tool} ${fmtS(c.seconds)} (${c.args.slice(0, 70)})`).join("; "),
      "",
    );
    if (Object.keys(p.standalone).length) {
      out.push("Node-side work of the read step, timed in-process on its own: " + Object.entries(p.standalone).map(([k, v]) => `${k} ${fmtS(v)}`).join("; "), "");
    }
  }
  return out.join("\n");
}

/** Copies the compiled program into the private directory and checks it starts. */
async function snapshot(tmp: string) {
  const snap = join(tmp, "app");
  await mkdir(join(snap, "dist"), { recursive: true });
  await mkdir(join(snap, "scripts"), { recursive: true });
  await $`cp -a ${join(repoRoot, "dist/scripts")} ${join(snap, "dist/scripts")}`;
  await $`cp -a ${join(repoRoot, "scripts/bootloader")} ${join(snap, "scripts/bootloader")}`;
  await $`cp -a ${join(repoRoot, "nix")} ${join(snap, "nix")}`;
  await $`cp ${join(repoRoot, "package.json")} ${join(snap, "package.json")}`;
  // the runtime dependencies too (others may reinstall node_modules mid-run)
  const deps = Object.keys((JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as { dependencies?: Record<string, string> }).dependencies ?? {});
  await mkdir(join(snap, "node_modules"), { recursive: true });
  for (const d of deps) {
    await mkdir(dirname(join(snap, "node_modules", d)), { recursive: true });
    await $`cp -a ${join(repoRoot, "node_modules", d)} ${join(snap, "node_modules", d)}`;
  }
  appRoot = snap;
  cli = join(snap, "dist/scripts/cli.js");
  const r = await $`${process.execPath} ${cli} --version`.nothrow();
  if (r.exitCode !== 0) throw new Error(`the compiled program does not start (is the tree mid-edit? run the bench again):\n${r.stderr.trim()}`);
}

// ── main ────────────────────────────────────────────────────────────────

async function main() {
  const args = new Set(process.argv.slice(2));
  const only = (name: string) => !["--extract", "--build"].some((a) => args.has(a)) || args.has(`--${name}`);
  const withDir = !args.has("--no-dir");
  const withProfile = !args.has("--no-profile");
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npx tsc -p .\` first`);
  const started = now();
  const loadBefore = loadavg().map((x) => +x.toFixed(2));
  const tmp = await mkdtemp(join(process.env.TMPDIR || tmpdir(), "shimboot-bench-"));
  const onSignal = () => {
    void rm(tmp, { recursive: true, force: true }).finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    await snapshot(tmp);
    const fx = await fixtures(tmp);
    log(`fixtures (${fx.via}): ${fx.shim}, ${fx.recovery}`);
    const ex = only("extract") ? await benchExtraction(fx.shim, tmp) : null;
    let b: BuildResult | null = null;
    const profiles: Profile[] = [];
    if (only("build")) {
      const rootfs = await rootfsInput();
      b = await benchBuild(fx, rootfs, tmp, withDir);
      if (withProfile) {
        log("profile: one build --rootfs IMAGE with tool timing");
        const p = await profileBuild(fx, rootfs, "image", tmp);
        p.standalone = await standaloneReadTimings(fx, rootfs);
        profiles.push(p);
        if (withDir) {
          log("profile: one build --rootfs DIR with tool timing");
          profiles.push(await profileBuild(fx, rootfs, "dir", tmp));
        }
      }
    }
    const text =
      `Host: ${cpus().length} CPUs, load average ${loadBefore.join(" ")} at start, ${loadavg().map((x) => x.toFixed(2)).join(" ")} now (other work on the machine adds noise); node ${process.version}.\n\n` + report(ex, b, profiles);
    const results = {
      date: new Date().toISOString(),
      host: { loadavgBefore: loadBefore, loadavgAfter: loadavg().map((x) => +x.toFixed(2)), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "", memoryGiB: +(totalmem() / GiB).toFixed(1), freeMemoryGiB: +(freemem() / GiB).toFixed(1), kernel: release(), node: process.version },
      tools: {
        binwalk: await toolVersion("binwalk --help 2>&1 | grep -m1 -i binwalk"),
        e2fsprogs: await toolVersion("mke2fs -V 2>&1"),
        xz: await toolVersion("xz --version"),
        coreutils: await toolVersion("cp --version"),
        gnuTime: haveGnuTime,
      },
      fixtures: fx,
      extraction: ex,
      build: b,
      profiles,
      totalSeconds: +sec(now() - started).toFixed(1),
    };
    await mkdir(benchCache, { recursive: true });
    await writeFile(resultsPath, JSON.stringify(results, null, 2) + "\n");
    process.stdout.write(text + `\nTotal bench time ${fmtS(results.totalSeconds)}. Results: ${resultsPath}\n`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
