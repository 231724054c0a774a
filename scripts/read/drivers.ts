// Harvests what the shim's kernel needs at run time (DESIGN.md §1.5): its
// modules (decompressed, depmod re-run), firmware from the shim, then the
// recovery image (recovery wins), then --firmware, and the recovery's
// modprobe.d. The result is a staging tree and a summary for the manifest.
// Synchronous file calls for the trees: one after another, each asynchronous
// call is a round trip through libuv's thread pool (a board's modules and
// firmware are thousands of files).
import { chmodSync, copyFileSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { UserError } from "../lib/errors.js";
import { runOk } from "../lib/exec.js";
import { decompress, type Codec } from "./codecs.js";
import { allSteps } from "../lib/parallel.js";
import { dumpTrees, listDirs, type ExtFs } from "./extfs.js";

export interface FirmwareConflict {
  path: string;
  /** sources in order; the last one won */
  from: string[];
}

export interface DriverHarvest {
  /** staging root: lib/modules/<release>, lib/firmware, lib/modprobe.d */
  root: string;
  moduleRelease: string;
  modules: number;
  decompressedModules: number;
  firmwareFiles: number;
  conflicts: FirmwareConflict[];
  modprobeFiles: string[];
  /** total bytes of file data, for sizing */
  bytes: number;
  entries: number;
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) yield* walk(p);
    else yield p;
  }
}

const moduleCodecs: [string, Codec][] = [
  [".ko.gz", "gzip"],
  [".ko.xz", "xz"],
  [".ko.zst", "zstd"],
];

/** ChromeOS kernels only load modules from a file on disk, uncompressed. */
async function decompressModules(dir: string): Promise<{ total: number; decompressed: number }> {
  let total = 0;
  let decompressed = 0;
  for (const p of [...walk(dir)]) {
    const hit = moduleCodecs.find(([ext]) => p.endsWith(ext));
    if (hit) {
      writeFileSync(p.slice(0, -hit[0].length + 3), await decompress(hit[1], readFileSync(p)));
      unlinkSync(p);
      decompressed++;
      total++;
    } else if (p.endsWith(".ko")) total++;
  }
  return { total, decompressed };
}

function sameContent(a: string, b: string): boolean {
  const [sa, sb] = [lstatSync(a), lstatSync(b)];
  if (sa.isSymbolicLink() || sb.isSymbolicLink()) return sa.isSymbolicLink() && sb.isSymbolicLink() && readlinkSync(a) === readlinkSync(b);
  if (sa.size !== sb.size) return false;
  return readFileSync(a).equals(readFileSync(b));
}

/** Copies every file of `src` over `dest`, recording files that differed. */
function overlay(src: string, dest: string, owners: Map<string, string[]>, sourceName: string, conflicts: FirmwareConflict[]) {
  for (const p of walk(src)) {
    const rel = relative(src, p);
    const target = join(dest, rel);
    const prev = owners.get(rel);
    if (prev) {
      if (!sameContent(p, target)) {
        const existing = conflicts.find((c) => c.path === rel);
        if (existing) existing.from.push(sourceName);
        else conflicts.push({ path: rel, from: [...prev.slice(-1), sourceName] });
      }
      rmSync(target, { force: true });
    }
    mkdirSync(dirname(target), { recursive: true });
    const st = lstatSync(p);
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(p), target);
    else copyFileSync(p, target);
    owners.set(rel, [...(prev ?? []), sourceName]);
  }
}

/**
 * Modes are stated, never inherited from the umask or the sources (depmod's
 * output, decompressed modules, --firmware files): directories 0755, files
 * 0644, or 0755 where the source was executable.
 */
function stateModes(dir: string): void {
  chmodSync(dir, 0o755);
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) stateModes(p);
    else if (st.isFile()) chmodSync(p, st.mode & 0o111 ? 0o755 : 0o644);
  }
}

function dirStats(dir: string) {
  let bytes = 0;
  let entries = 0;
  const count = (d: string) => {
    for (const name of readdirSync(d)) {
      const st = lstatSync(join(d, name));
      entries++;
      if (st.isDirectory()) count(join(d, name));
      else bytes += Math.ceil(st.size / 4096) * 4096;
    }
  };
  count(dir);
  return { bytes, entries };
}

export interface HarvestOptions {
  work: string;
  shimRoot: ExtFs;
  kernelRelease: string | null;
  recoveryRoot: ExtFs | null;
  extraFirmware: string | null;
}

const RECOVERY_DIRS = ["/lib/firmware", "/lib/modprobe.d", "/etc/modprobe.d"];
/** where a tree pulled out of an image lands in the work directory */
const pulled = (pull: string, source: string, path: string) => join(pull, source, path.slice(1).replace(/\//g, "_"));

/**
 * Two debugfs processes per image, the shim's and the recovery's side by
 * side: one lists what is there, one copies it all out.
 */
export async function harvestDrivers(opts: HarvestOptions): Promise<DriverHarvest> {
  const root = join(opts.work, "drivers");
  const pull = join(opts.work, "pull");
  mkdirSync(join(root, "lib/modules"), { recursive: true });
  mkdirSync(join(root, "lib/firmware"), { recursive: true });
  const [shimDirs, recoveryDirs] = await Promise.all([listDirs(opts.shimRoot, ["/lib/modules", "/lib/firmware"]), opts.recoveryRoot ? listDirs(opts.recoveryRoot, RECOVERY_DIRS) : new Map()]);
  const release = moduleRelease(opts, (shimDirs.get("/lib/modules") ?? []).filter((e) => e.kind === "dir").map((e) => e.name));
  await pullTrees(opts, pull, root, release, shimDirs, recoveryDirs);

  const mods = await decompressModules(join(root, "lib/modules", release));
  await runOk("depmod", ["-b", root, release]);
  const { owners, conflicts } = mergeFirmware(opts, pull, root, shimDirs, recoveryDirs);
  const modprobeFiles = mergeModprobe(pull, root, recoveryDirs);
  rmSync(pull, { recursive: true, force: true });
  stateModes(root);
  return { root, moduleRelease: release, modules: mods.total, decompressedModules: mods.decompressed, firmwareFiles: owners.size, conflicts, modprobeFiles, ...dirStats(root) };
}

/** Modules: exactly the running kernel's release. */
function moduleRelease(opts: HarvestOptions, releases: string[]): string {
  const release = opts.kernelRelease;
  if (release && releases.includes(release)) return release;
  if (releases.length === 1 && !release) return releases[0]!;
  throw new UserError(
    opts.shimRoot.where,
    `has no lib/modules/${release ?? "<release>"} for the shim's kernel (found: ${releases.join(", ") || "none"})`,
    "the shim's ROOT-A does not match its kernel; use --drivers none to build without drivers",
  );
}

/** Everything copied out of both images at once: the modules straight into place, the rest into `pull`. */
async function pullTrees(opts: HarvestOptions, pull: string, root: string, release: string, shimDirs: Map<string, unknown>, recoveryDirs: Map<string, unknown>): Promise<void> {
  const shimTrees: [string, string][] = [[`/lib/modules/${release}`, join(root, "lib/modules")]];
  if (shimDirs.has("/lib/firmware")) shimTrees.push(["/lib/firmware", pulled(pull, "shim", "/lib/firmware")]);
  const recoveryTrees: [string, string][] = RECOVERY_DIRS.filter((d) => recoveryDirs.has(d)).map((d) => [d, pulled(pull, "recovery", d)]);
  for (const [, dest] of [...shimTrees, ...recoveryTrees]) mkdirSync(dest, { recursive: true });
  await allSteps([dumpTrees(opts.shimRoot, shimTrees), opts.recoveryRoot ? dumpTrees(opts.recoveryRoot, recoveryTrees) : Promise.resolve()]);
}

/** Firmware: shim, then recovery (wins), then --firmware (wins). */
function mergeFirmware(opts: HarvestOptions, pull: string, root: string, shimDirs: Map<string, unknown>, recoveryDirs: Map<string, unknown>) {
  const owners = new Map<string, string[]>();
  const conflicts: FirmwareConflict[] = [];
  const sources: [string, string][] = [];
  if (shimDirs.has("/lib/firmware")) sources.push(["shim", join(pulled(pull, "shim", "/lib/firmware"), "firmware")]);
  if (recoveryDirs.has("/lib/firmware")) sources.push(["recovery", join(pulled(pull, "recovery", "/lib/firmware"), "firmware")]);
  if (opts.extraFirmware) sources.push(["--firmware", opts.extraFirmware]);
  for (const [name, dir] of sources) overlay(dir, join(root, "lib/firmware"), owners, name, conflicts);
  return { owners, conflicts };
}

/** modprobe.d from the recovery image: lib first, etc overrides by name. */
function mergeModprobe(pull: string, root: string, recoveryDirs: Map<string, unknown>): string[] {
  const files: string[] = [];
  for (const d of ["/lib/modprobe.d", "/etc/modprobe.d"].filter((x) => recoveryDirs.has(x))) {
    const got = join(pulled(pull, "recovery", d), "modprobe.d");
    mkdirSync(join(root, "lib/modprobe.d"), { recursive: true });
    for (const name of readdirSync(got).sort()) {
      copyFileSync(join(got, name), join(root, "lib/modprobe.d", name));
      if (!files.includes(name)) files.push(name);
    }
  }
  return files.sort();
}
