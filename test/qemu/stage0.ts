// Builds (once, cached) the stage-0 initramfs of the QEMU boot test: a newc
// cpio with busybox-static, cgpt and its libraries, the kernel modules that
// Debian's kernel has where the shim's kernel has built-in drivers, and
// stage0-init.sh as /init (see that script for what it reproduces).
import { $ } from "zx";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { BUSYBOX, QEMU_DIR, cacheDir, findTestKernel, type TestKernel } from "./env.js";

$.quiet = true;

/** Modules stage 0 loads (with their dependencies): virtio disk and ext4. */
export const STAGE0_MODULES = ["virtio_pci", "virtio_blk", "crc32c_generic", "ext4"];

/** Busybox applets stage 0 uses (linked in /bin). */
const APPLETS = [
  "sh", "mount", "umount", "mkdir", "cat", "insmod", "sleep", "tar", "grep", "uniq",
  "switch_root", "poweroff", "echo",
];

/**
 * The .ko files (paths relative to the modules directory) to insmod, in an
 * order where every module follows its dependencies, per modules.dep.
 * Modules built into the kernel (listed in modules.builtin) are skipped.
 */
export function moduleLoadOrder(modulesDep: string, builtin: string, wanted: string[]): string[] {
  const deps = new Map<string, string[]>();
  const byName = new Map<string, string>();
  const nameOf = (p: string) => basename(p).replace(/\.ko(\.(gz|xz|zst))?$/, "").replace(/-/g, "_");
  for (const line of modulesDep.split("\n")) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const path = m[1]!;
    deps.set(path, m[2]!.split(/\s+/).filter(Boolean));
    byName.set(nameOf(path), path);
  }
  const builtins = new Set(builtin.split("\n").filter(Boolean).map(nameOf));
  const order: string[] = [];
  const visit = (path: string, stack: string[]) => {
    if (order.includes(path)) return;
    if (stack.includes(path)) throw new Error(`module dependency loop: ${[...stack, path].join(" -> ")}`);
    // modules.dep lists the full closure, deepest last: load from the end.
    for (const d of [...(deps.get(path) ?? [])].reverse()) visit(d, [...stack, path]);
    order.push(path);
  };
  for (const w of wanted) {
    const key = w.replace(/-/g, "_");
    if (builtins.has(key)) continue;
    const path = byName.get(key);
    if (!path) throw new Error(`module ${w} is neither in modules.dep nor built in`);
    visit(path, []);
  }
  return order;
}

/** The dynamic libraries (with the loader) a binary needs, from ldd. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const out = (await $`ldd ${binary}`.nothrow()).stdout;
  const libs = new Set<string>();
  for (const line of out.split("\n")) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.add(m[1]!);
  }
  return [...libs];
}

/** Copies a binary and its libraries into a tree, at the same paths. */
export async function copyWithLibraries(binary: string, tree: string, dest = binary): Promise<void> {
  await mkdir(join(tree, dirname(dest)), { recursive: true });
  await copyFile(binary, join(tree, dest));
  await chmod(join(tree, dest), 0o755);
  for (const lib of await sharedLibraries(binary)) {
    await mkdir(join(tree, dirname(lib)), { recursive: true });
    if (!existsSync(join(tree, lib))) await copyFile(lib, join(tree, lib));
  }
}

export async function which(cmd: string): Promise<string> {
  return (await $`command -v ${cmd}`).stdout.trim();
}

/** Packs a directory as a gzip'd newc cpio owned by root, with /dev/console. */
export async function packInitramfs(tree: string, output: string): Promise<void> {
  await $`fakeroot -- sh -c ${`set -e; cd "$1"; mkdir -p dev; mknod -m 600 dev/console c 5 1; find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -9 -n > "$2"`} sh ${tree} ${output}`;
}

async function stage0Key(kernel: TestKernel, order: string[], cgpt: string): Promise<string> {
  const h = createHash("sha256");
  h.update(await readFile(join(QEMU_DIR, "stage0-init.sh")));
  h.update(await readFile(new URL(import.meta.url)));
  h.update(kernel.version);
  h.update(order.join("\n"));
  for (const f of [BUSYBOX, cgpt]) {
    const s = await stat(f);
    h.update(`${f}:${s.size}:${s.mtimeMs}`);
  }
  return h.digest("hex").slice(0, 16);
}

const pending = new Map<string, Promise<string>>();

/**
 * Path of the stage-0 initramfs for the test kernel, built on first use and
 * cached under cacheDir() (keyed by its inputs, so edits rebuild it).
 * `extraModules` are loaded after STAGE0_MODULES (with their dependencies),
 * for a test that needs more of the shim kernel's drivers (e.g. dm-crypt);
 * each module list is a separate initramfs, so the others stay small.
 */
export function buildStage0(extraModules: string[] = []): Promise<string> {
  const key = extraModules.join(" ");
  let p = pending.get(key);
  if (!p) {
    p = build(extraModules);
    pending.set(key, p);
  }
  return p;
}

async function build(extraModules: string[]): Promise<string> {
  const kernel = findTestKernel();
  if (!kernel) throw new Error("no test kernel: install linux-image-amd64 or set SHIMBOOT_TEST_KERNEL/SHIMBOOT_TEST_KVER");
  const modulesDep = await readFile(join(kernel.modulesDir, "modules.dep"), "utf8");
  const builtinPath = join(kernel.modulesDir, "modules.builtin");
  const builtin = existsSync(builtinPath) ? await readFile(builtinPath, "utf8") : "";
  const order = moduleLoadOrder(modulesDep, builtin, [...STAGE0_MODULES, ...extraModules]);
  const cgpt = await which("cgpt");
  const out = join(await cacheDir(), `stage0-${await stage0Key(kernel, order, cgpt)}.cpio.gz`);
  if (existsSync(out)) return out;

  const tree = await mkdtemp(join(tmpdir(), "shimboot-stage0-"));
  try {
    await mkdir(join(tree, "bin"), { recursive: true });
    await copyFile(BUSYBOX, join(tree, "bin/busybox"));
    await chmod(join(tree, "bin/busybox"), 0o755);
    for (const a of APPLETS) await symlink("busybox", join(tree, "bin", a));
    await copyWithLibraries(cgpt, tree, "/bin/cgpt");
    await mkdir(join(tree, "lib/modules"), { recursive: true });
    const flat: string[] = [];
    for (const rel of order) {
      const name = basename(rel);
      if (/\.(gz|xz|zst)$/.test(name)) throw new Error(`compressed module ${rel}: busybox insmod needs plain .ko`);
      await copyFile(join(kernel.modulesDir, rel), join(tree, "lib/modules", name));
      flat.push(name);
    }
    await writeFile(join(tree, "lib/modules/load-order"), flat.join("\n") + "\n");
    await copyFile(join(QEMU_DIR, "stage0-init.sh"), join(tree, "init"));
    await chmod(join(tree, "init"), 0o755);
    const tmp = `${out}.${process.pid}.tmp`;
    await packInitramfs(tree, tmp);
    await rename(tmp, out);
    return out;
  } finally {
    await rm(tree, { recursive: true, force: true });
  }
}
