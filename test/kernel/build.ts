// The fixture shim's real kernel, built from a Linux 6.1 source tarball
// (Debian's linux-source-6.1; SHIMBOOT_TEST_LINUX_SOURCE): tinyconfig plus
// shim.config, a built-in initramfs doing the factory hand-off
// (factory-init, factory-bootstrap.sh) with real busybox and cgpt, and a few
// drivers as modules. One full build, then one cheap relink per variant
// (another payload or initramfs compression, another archive maker).
//
// Cached in two levels under the test cache: the build tree (extracted source
// and objects; key: configuration and source version) so that a change of
// the initramfs only relinks, and the artefacts (key: the tree's, plus every
// input of the initramfs).
import { $ } from "zx";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, readdir, readFile, realpath, rename, rm, stat, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { hostPath, missingHostPaths } from "../helpers/host-paths.js";
import { cacheRoot, repoRoot } from "../helpers/cache.js";
import { makeInitramfsTree, packGnuCpio } from "../fixtures/kernel-blob.js";
import { genInitCpioList } from "./file-list.js";

$.quiet = true;

// the sources beside this file (also when it runs compiled, from dist/)
const here = join(repoRoot, "test/kernel");
const CONFIG_FRAGMENT = join(here, "shim.config");
const BUILD_ENV = {
  ARCH: "x86_64",
  // reproducible: the banner and the initramfs mtimes do not depend on the day
  KBUILD_BUILD_TIMESTAMP: "@1700000000",
  KBUILD_BUILD_USER: "fixture",
  KBUILD_BUILD_HOST: "shimboot",
  KBUILD_BUILD_VERSION: "1",
};

/**
 * `uname -r` of the fixture kernel, whatever the 6.1 source's sublevel: a
 * fixed release as Debian names its kernels (6.1.0-57-amd64 is 6.1.192),
 * so fixtures and tests can name it.
 */
export const KBUILD_RELEASE = "6.1.0-shimboot-fixture";

export type PayloadCodec = "gzip" | "xz" | "lz4";
export type InitramfsCodec = "xz" | "lz4" | "gzip" | "zstd";
/** Who made the initramfs archive: kbuild's gen_init_cpio from a file list (symlink targets stored with a trailing NUL) or GNU cpio. */
export type ArchiveMaker = "gen_init_cpio" | "gnu-cpio";

export interface KbuildVariant {
  payload: PayloadCodec;
  initramfs: InitramfsCodec;
  maker: ArchiveMaker;
}

/** The kernels built: the first is the full build, the others relink it. */
export const KBUILD_VARIANTS = {
  "gzip-xz": { payload: "gzip", initramfs: "xz", maker: "gen_init_cpio" },
  "xz-lz4": { payload: "xz", initramfs: "lz4", maker: "gnu-cpio" },
  "lz4-gzip": { payload: "lz4", initramfs: "gzip", maker: "gen_init_cpio" },
  "gzip-zstd": { payload: "gzip", initramfs: "zstd", maker: "gnu-cpio" },
} as const satisfies Record<string, KbuildVariant>;

export type KbuildVariantName = keyof typeof KBUILD_VARIANTS;

export interface KbuildKernel {
  /** `uname -r` of the kernel */
  release: string;
  /** the bzImage of each variant */
  bzImage: Record<KbuildVariantName, string>;
  /** modules_install's root: lib/modules/<release> */
  modulesRoot: string;
  /** kbuild's usr/gen_init_cpio, built for the host */
  genInitCpio: string;
  /** the final .config */
  config: string;
  /** seconds each step took when the artefacts were made */
  timings: Record<string, number>;
}

const PAYLOAD_SYMBOL: Record<PayloadCodec, string> = { gzip: "KERNEL_GZIP", xz: "KERNEL_XZ", lz4: "KERNEL_LZ4" };
const INITRAMFS_SYMBOL: Record<InitramfsCodec, string> = {
  xz: "INITRAMFS_COMPRESSION_XZ",
  lz4: "INITRAMFS_COMPRESSION_LZ4",
  gzip: "INITRAMFS_COMPRESSION_GZIP",
  zstd: "INITRAMFS_COMPRESSION_ZSTD",
};

/**
 * What identifies the source version: a tarball's size and mtime (a package
 * sets both; the same file bind-mounted or in the Nix store keeps them), a
 * directory's real path and its Makefile's version lines.
 */
async function sourceIdentity(source: string): Promise<string> {
  const st = await stat(source);
  if (!st.isDirectory()) return `tarball:${st.size}:${Math.floor(st.mtimeMs / 1000)}`;
  const makefile = await readFile(join(source, "Makefile"), "utf8");
  return `dir:${await realpath(source)}:${makefile.split("\n").slice(0, 6).join(" ")}`;
}

const sha = (...parts: (string | Buffer)[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex").slice(0, 16);
};

/** Key of the build tree: the configuration and the source version. */
async function treeKey(source: string): Promise<string> {
  return sha(await readFile(CONFIG_FRAGMENT), await sourceIdentity(source), JSON.stringify(BUILD_ENV));
}

/** Key of the artefacts: the tree's, and everything that goes into the initramfs. */
async function artefactKey(tree: string): Promise<string> {
  const parts: (string | Buffer)[] = [tree, JSON.stringify(KBUILD_VARIANTS)];
  for (const f of ["factory-init", "factory-bootstrap.sh", "file-list.ts", "build.ts", "../fixtures/kernel-blob.ts"]) parts.push(await readFile(join(here, f)));
  // busybox and cgpt by size and mtime, wherever they are (a copy, a link, the Nix store)
  for (const bin of [hostPath("busybox"), (await $`command -v cgpt`).stdout.trim()]) {
    const st = await stat(bin);
    parts.push(`${st.size}:${Math.floor(st.mtimeMs / 1000)}`);
  }
  return sha(...parts);
}

function make(src: string, out: string, targets: string[], jobs = cpus().length) {
  return $({ cwd: src, env: { ...process.env, ...BUILD_ENV } })`make -s -j${jobs} O=${out} KERNELRELEASE=${KBUILD_RELEASE} ${targets}`;
}

/** The lines of shim.config that .config must hold after olddefconfig. */
async function checkConfig(out: string, wanted: string[]): Promise<void> {
  const config = new Set((await readFile(join(out, ".config"), "utf8")).split("\n"));
  const lost = wanted.filter((l) => !config.has(l));
  if (lost.length) throw new Error(`the kernel configuration lost ${lost.join(", ")} (a dependency is missing or the source renamed it): fix test/kernel/shim.config`);
}

async function fragmentLines(): Promise<string[]> {
  return (await readFile(CONFIG_FRAGMENT, "utf8")).split("\n").filter((l) => /^CONFIG_\w+=|^# CONFIG_\w+ is not set$/.test(l));
}

/** Extracts the source and configures it (tinyconfig + shim.config). */
async function prepareTree(source: string, dir: string, timings: Record<string, number>) {
  const src = join(dir, "src");
  const out = join(dir, "out");
  await mkdir(src, { recursive: true });
  await mkdir(out, { recursive: true });
  let t = Date.now();
  if ((await stat(source)).isDirectory()) await cp(source, src, { recursive: true });
  else await $`tar -xf ${source} -C ${src} --strip-components=1`;
  timings.extract = (Date.now() - t) / 1000;
  const makefile = await readFile(join(src, "Makefile"), "utf8");
  const version = ["VERSION", "PATCHLEVEL", "SUBLEVEL"].map((k) => new RegExp(`^${k} = (\\d+)`, "m").exec(makefile)?.[1]).join(".");
  if (!version.startsWith("6.1.")) throw new Error(`${source} is Linux ${version}; test/kernel/shim.config is for 6.1 (Debian's linux-source-6.1)`);
  t = Date.now();
  await make(src, out, ["tinyconfig"], 1);
  await $({ cwd: src })`sh scripts/kconfig/merge_config.sh -m -O ${out} ${join(out, ".config")} ${CONFIG_FRAGMENT}`;
  await make(src, out, ["olddefconfig"], 1);
  await checkConfig(out, await fragmentLines());
  timings.configure = (Date.now() - t) / 1000;
}

/** Sets the variant's compressions and initramfs source, then checks kconfig kept them. */
async function configureVariant(src: string, out: string, v: KbuildVariant, initramfsSource: string) {
  const cfg = join(out, ".config");
  const args: string[] = [];
  for (const s of Object.values(PAYLOAD_SYMBOL)) args.push(s === PAYLOAD_SYMBOL[v.payload] ? "--enable" : "--disable", s);
  for (const s of Object.values(INITRAMFS_SYMBOL)) args.push(s === INITRAMFS_SYMBOL[v.initramfs] ? "--enable" : "--disable", s);
  args.push("--disable", "INITRAMFS_COMPRESSION_NONE", "--set-str", "INITRAMFS_SOURCE", initramfsSource);
  await $({ cwd: src })`bash scripts/config --file ${cfg} ${args}`; // not by its #!/usr/bin/env: the Nix sandbox has none
  await make(src, out, ["olddefconfig"], 1);
  await checkConfig(out, [`CONFIG_${PAYLOAD_SYMBOL[v.payload]}=y`, `CONFIG_${INITRAMFS_SYMBOL[v.initramfs]}=y`, `CONFIG_INITRAMFS_SOURCE="${initramfsSource}"`]);
}

/** The initramfs inputs of both makers: a GNU cpio archive and a gen_init_cpio file list of the same tree. */
async function writeInitramfsInputs(work: string): Promise<Record<ArchiveMaker, string>> {
  const root = await makeInitramfsTree(work, {
    busybox: { applets: "all" },
    factory: { init: await readFile(join(here, "factory-init"), "utf8"), bootstrap: await readFile(join(here, "factory-bootstrap.sh"), "utf8") },
  });
  const cpio = join(work, "initramfs.cpio"); // kbuild uses a *.cpio as is, compressed with the variant's codec
  await packGnuCpio(work, root, cpio);
  const list = join(work, "initramfs.list"); // anything else is a file list for gen_init_cpio
  await writeFile(list, await genInitCpioList(root));
  return { "gnu-cpio": cpio, gen_init_cpio: list };
}

/** The cache's directory names: the build tree's and the artefacts' (fixtures made from them are keyed by the latter too). */
export async function kernelCacheKeys(): Promise<{ tree: string; artefacts: string }> {
  const source = hostPath("linuxSource");
  if (!existsSync(source)) return { tree: "no-linux-source", artefacts: "no-linux-source" };
  const tree = `tree-${await treeKey(source)}`;
  return { tree, artefacts: await artefactKey(tree) };
}

export async function kernelInputsKey(): Promise<string> {
  return (await kernelCacheKeys()).artefacts;
}

let pending: Promise<KbuildKernel> | undefined;

/** The fixture kernel, built on first use (minutes) and cached. */
export function kbuildKernel(): Promise<KbuildKernel> {
  pending ??= buildOrLoad();
  return pending;
}

/** kbuild's gen_init_cpio (the kernel's own archive maker), built with the kernel. */
export async function genInitCpio(): Promise<string> {
  return (await kbuildKernel()).genInitCpio;
}

async function pruneOthers(dir: string, keep: string[]) {
  for (const d of await readdir(dir).catch(() => [] as string[])) {
    if (!keep.includes(d)) await rm(join(dir, d), { recursive: true, force: true });
  }
}

/**
 * One build at a time per cache (a test run and `npm run demo` may start
 * together): a lock directory holding the owner's pid; a dead owner's lock
 * is taken over.
 */
async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(dir, ".lock");
  await mkdir(dir, { recursive: true });
  for (let announced = false; ; ) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, "pid"), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const owner = Number(await readFile(join(lock, "pid"), "utf8").catch(() => "0"));
      const alive = owner > 0 && (() => { try { process.kill(owner, 0); return true; } catch { return false; } })();
      if (!alive && owner > 0) {
        await rm(lock, { recursive: true, force: true });
        continue;
      }
      if (!announced) process.stderr.write(`fixture kernel: waiting for the build of process ${owner || "?"} (${lock})\n`);
      announced = true;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

async function buildOrLoad(): Promise<KbuildKernel> {
  const base = join(cacheRoot, "kernel");
  return withLock(base, buildOrLoadLocked);
}

async function buildOrLoadLocked(): Promise<KbuildKernel> {
  const missing = missingHostPaths("linuxSource", "busybox");
  if (missing.length) throw new Error(`the fixture kernel needs ${missing.join("; ")}`);
  const source = hostPath("linuxSource");
  const base = join(cacheRoot, "kernel");
  const { tree: tkey, artefacts: akey } = await kernelCacheKeys();
  const done = join(base, akey, "kernel.json");
  if (existsSync(done)) return JSON.parse(await readFile(done, "utf8")) as KbuildKernel;

  await pruneOthers(base, [tkey, akey, ".lock"]);
  const tree = join(base, tkey);
  const timings: Record<string, number> = {};
  const fresh = !existsSync(join(tree, "configured"));
  process.stderr.write(`fixture kernel: ${fresh ? `building Linux 6.1 from ${source} (about 8 minutes on 2 cores)` : "relinking the cached build"}, into ${base}\n`);
  if (fresh) {
    await rm(tree, { recursive: true, force: true });
    await prepareTree(source, tree, timings);
    await writeFile(join(tree, "configured"), "");
  }
  const work = join(base, `.work-${akey}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    const result = await buildArtefacts(join(tree, "src"), join(tree, "out"), work, timings);
    await rm(join(base, akey), { recursive: true, force: true });
    const final = join(base, akey);
    const relocated = JSON.parse(JSON.stringify(result).replaceAll(work, final)) as KbuildKernel;
    await writeFile(join(work, "kernel.json"), JSON.stringify(relocated, null, 2));
    await rename(work, final);
    return relocated;
  } catch (e) {
    await rm(work, { recursive: true, force: true });
    throw e;
  }
}

async function buildArtefacts(src: string, out: string, work: string, timings: Record<string, number>): Promise<KbuildKernel> {
  const inputs = await writeInitramfsInputs(join(work, "initramfs"));
  const bzImage = {} as Record<KbuildVariantName, string>;
  let first = true;
  for (const [name, v] of Object.entries(KBUILD_VARIANTS) as [KbuildVariantName, KbuildVariant][]) {
    const t = Date.now();
    await configureVariant(src, out, v, inputs[v.maker]);
    // the first build makes the modules too; the others only relink
    await make(src, out, first ? ["bzImage", "modules"] : ["bzImage"]);
    bzImage[name] = join(work, `bzImage-${name}`);
    await cp(join(out, "arch/x86/boot/bzImage"), bzImage[name]);
    timings[first ? `build ${name}` : `relink ${name}`] = (Date.now() - t) / 1000;
    first = false;
  }
  const modulesRoot = join(work, "modules");
  await make(src, out, ["modules_install", `INSTALL_MOD_PATH=${modulesRoot}`, "INSTALL_MOD_STRIP=1"], 1);
  const release = (await readFile(join(out, "include/config/kernel.release"), "utf8")).trim();
  if (!existsSync(join(modulesRoot, "lib/modules", KBUILD_RELEASE))) throw new Error(`modules_install wrote no lib/modules/${KBUILD_RELEASE} (the tree says ${release})`);
  const genInitCpio = join(work, "gen_init_cpio");
  await cp(join(out, "usr/gen_init_cpio"), genInitCpio);
  const config = join(work, "config");
  await cp(join(out, ".config"), config);
  return { release: KBUILD_RELEASE, bzImage, modulesRoot, genInitCpio, config, timings };
}
