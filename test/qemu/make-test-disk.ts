// Disk images for the QEMU boot test, made by `shimboot build` from the
// fixture shim with the real kernel ("shim-kbuild": p2 is its KERN-A, which
// QEMU boots as the firmware would), plus helpers for the roots the tests
// boot: marker inits and NixOS-shaped generation trees.
import { $ } from "zx";
import { existsSync } from "node:fs";
import { chmod, copyFile, cp, lutimes, mkdir, mkdtemp, rm, stat, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { BOOTLOADER_DIR, BUSYBOX } from "./env.js";
import { fixture } from "../fixtures/fixtures.js";
import { runCli } from "../helpers/cli.js";

$.quiet = true;

export const SECTOR = 512;
const MiB = 1024 * 1024;

/** A file-system tree: path (relative, '/'-separated) -> node. */
export type TreeNode =
  | string
  | { content: string | Buffer; mode?: number; mtime?: number }
  | { symlink: string; mtime?: number }
  | { dir: true; mode?: number };
export type Tree = Record<string, TreeNode>;

export interface RootfsSpec {
  /** The label: the partition's GPT name is `shimboot_rootfs:<label>` ("vendor" is the driver partition). */
  label: string;
  /** Files on top of the base tree. */
  tree?: Tree;
  /** Put busybox-static at /bin/busybox (+ /bin/sh) so scripts can run (default true). */
  busybox?: boolean;
  sizeMiB?: number;
  /** Raw GPT name instead of `shimboot_rootfs:<label>`. */
  gptName?: string;
  /**
   * A prepared partition image (e.g. a LUKS container) written as is instead
   * of an ext4 made from the tree (only for `extra` partitions).
   */
  image?: string;
}

export interface TestDisk {
  path: string;
  /** Unique GUID of the ChromeOS kernel partition (what the firmware puts in kern_guid=%U). */
  kernGuid: string;
}

export async function writeTree(root: string, tree: Tree): Promise<void> {
  const times: Array<[string, number]> = [];
  for (const [rel, node] of Object.entries(tree)) {
    const p = join(root, rel);
    await mkdir(dirname(p), { recursive: true });
    if (typeof node === "string") {
      await writeFile(p, node);
    } else if ("symlink" in node) {
      await rm(p, { force: true });
      await symlink(node.symlink, p);
      if (node.mtime !== undefined) times.push([p, node.mtime]);
    } else if ("dir" in node) {
      await mkdir(p, { recursive: true });
      if (node.mode !== undefined) await chmod(p, node.mode);
    } else {
      await writeFile(p, node.content);
      if (node.mode !== undefined) await chmod(p, node.mode);
      if (node.mtime !== undefined) times.push([p, node.mtime]);
    }
  }
  // after all writes, so creating children does not bump them
  for (const [p, t] of times) await lutimes(p, t, t);
}

/** Busybox-static at bin/busybox with a link for every applet. */
export async function installBusybox(root: string, applets: "all" | string[] = "all"): Promise<void> {
  await mkdir(join(root, "bin"), { recursive: true });
  await copyFile(BUSYBOX, join(root, "bin/busybox"));
  await chmod(join(root, "bin/busybox"), 0o755);
  const list = applets === "all" ? (await $`${BUSYBOX} --list`).stdout.split("\n").filter(Boolean) : applets;
  for (const a of list) {
    if (a === "busybox") continue;
    await symlink("busybox", join(root, "bin", a)).catch(() => undefined);
  }
}

/** An init script for a test root: prints MARKER on the serial port and powers off. */
export function markerInit(marker: string, before = ""): TreeNode {
  return {
    mode: 0o755,
    content: `#!/bin/busybox sh
export PATH=/bin
say() { echo "$*" >/dev/ttyS0 2>/dev/null || echo "$*" >/dev/console; }
${before}
say "${marker}"
sync
poweroff -f
`,
  };
}

export interface Generation {
  n: number;
  version: string;
  /** Content of the generation's init (use markerInit). */
  init: TreeNode;
  /** mtime of system-N-link (the generation's date). */
  mtime?: number;
}

/**
 * A NixOS-shaped root: /nix/store/<x>-nixos-system-<n>/{init,nixos-version},
 * /nix/var/nix/profiles/system-N-link -> /nix/store/... (absolute links),
 * system -> system-<current>-link, /sbin/init -> /nix/var/nix/profiles/system/init.
 */
export function nixosTree(generations: Generation[], current: number): Tree {
  const tree: Tree = {};
  for (const g of generations) {
    const store = `nix/store/${String(g.n).padStart(32, "0")}-nixos-system-test-${g.version}`;
    tree[`${store}/init`] = g.init;
    tree[`${store}/nixos-version`] = `${g.version}\n`;
    tree[`nix/var/nix/profiles/system-${g.n}-link`] = { symlink: `/${store}`, mtime: g.mtime };
  }
  tree["nix/var/nix/profiles/system"] = { symlink: `system-${current}-link` };
  tree["sbin/init"] = { symlink: "/nix/var/nix/profiles/system/init" };
  tree["etc/NIXOS"] = "";
  return tree;
}

export interface BuiltDiskSpec {
  /** The rootfs `shimboot build` writes (it must have an init). */
  rootfs: RootfsSpec;
  /** More rootfs partitions appended after the build, e.g. one without an init. */
  extra?: RootfsSpec[];
  bootTimeout: number;
  drivers?: "none" | "vendor" | "inject";
  /**
   * A directory whose bin/ and lib/ are added to the bootloader's (partition
   * 3), as if shipped in scripts/bootloader: e.g. a cryptsetup with its
   * libraries. The build is pointed at a merged copy via SHIMBOOT_BOOTLOADER_DIR.
   */
  bootloaderExtra?: string;
}

/** A test root: busybox for scripts, the API mount points, then the spec's files. */
async function rootTree(work: string, name: string, r: RootfsSpec): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  for (const d of ["dev", "proc", "sys", "tmp"]) await mkdir(join(dir, d), { recursive: true });
  if (r.busybox ?? true) await installBusybox(dir, ["sh", "echo", "ls", "cat", "sync", "poweroff", "mount", "find", "grep", "uname", "modprobe", "insmod", "lsmod", "dmesg"]);
  if (r.tree) await writeTree(dir, r.tree);
  return dir;
}

async function duMiB(dir: string): Promise<number> {
  const kib = Number((await $`du -sk ${dir}`).stdout.split(/\s/)[0]);
  return Math.ceil(kib / 1024);
}

/**
 * Appends ext4 partitions named shimboot_rootfs:<label> to a built image:
 * the file grows, the GPT is written anew with every existing entry kept
 * (same place, type, GUID, attributes), then the new file systems are made.
 */
async function appendRootfs(path: string, extra: RootfsSpec[], work: string): Promise<void> {
  const rows = (await $`cgpt show -q -n ${path}`).stdout.trim().split("\n").map((l) => l.trim().split(/\s+/).map(Number));
  const entries = [];
  for (const [start, size, index] of rows as [number, number, number][]) {
    const q = async (flag: string) => (await $`cgpt show -i ${index} ${flag} ${path}`).stdout.replace(/\n$/, "");
    entries.push({ index, start, size, type: await q("-t"), label: await q("-l"), uuid: await q("-u"), attr: await q("-A") });
  }
  let next = Math.max(...entries.map((e) => e.start + e.size));
  const added = [];
  for (const [i, r] of extra.entries()) {
    const dir = r.image ?? (await rootTree(work, `extra${i}`, r));
    const sizeMiB = r.sizeMiB ?? (r.image ? Math.ceil((await stat(r.image)).size / MiB) : Math.max(6, (await duMiB(dir)) * 2 + 3));
    const start = Math.ceil(next / 2048) * 2048;
    added.push({ index: entries.length + added.length + 1, start, sizeMiB, dir, raw: !!r.image, name: r.gptName ?? `shimboot_rootfs:${r.label}` });
    next = start + (sizeMiB * MiB) / SECTOR;
  }
  await truncate(path, (Math.ceil(next / 2048) + 1) * MiB);
  await $`cgpt create ${path}`;
  await $`cgpt boot -p ${path}`;
  for (const e of entries) await $`cgpt add -i ${e.index} -b ${e.start} -s ${e.size} -t ${e.type} -l ${e.label} -u ${e.uuid} -A ${e.attr} ${path}`;
  for (const a of added) {
    await $`cgpt add -i ${a.index} -b ${a.start} -s ${(a.sizeMiB * MiB) / SECTOR} -t data -l ${a.name} ${path}`;
    if (a.raw) await $`dd if=${a.dir} of=${path} bs=1M seek=${(a.start * SECTOR) / MiB} conv=notrunc status=none`;
    else await $`mke2fs -q -F -t ext4 -d ${a.dir} -E offset=${a.start * SECTOR} ${path} ${`${a.sizeMiB * 1024}k`}`;
  }
}

/**
 * Builds the disk with `shimboot build` itself, from the fixture shim whose
 * kernel is real and whose initramfs holds a real static busybox and cgpt:
 * the image the QEMU test boots is the product's own output.
 */
export async function buildTestDisk(path: string, spec: BuiltDiskSpec): Promise<TestDisk> {
  const work = await mkdtemp(join(tmpdir(), "shimboot-disk-"));
  try {
    const dir = await rootTree(work, "rootfs", spec.rootfs);
    const env: Record<string, string> = { TMPDIR: work };
    if (spec.bootloaderExtra) {
      const merged = join(work, "bootloader");
      await cp(BOOTLOADER_DIR, merged, { recursive: true });
      for (const top of ["bin", "lib"]) {
        const src = join(spec.bootloaderExtra, top);
        if (existsSync(src)) await cp(src, join(merged, top), { recursive: true });
      }
      env.SHIMBOOT_BOOTLOADER_DIR = merged;
    }
    const r = await runCli(["build", "--shim", await fixture("shim-kbuild"), "--rootfs", dir, "--name", spec.rootfs.label, "--out", path, "--force", "--boot-timeout", String(spec.bootTimeout), "--drivers", spec.drivers ?? "none", "--extra-space", "4M"], { env });
    if (r.code !== 0) throw new Error(`shimboot build failed (${r.code}): ${r.stderr}`);
    if (spec.extra?.length) await appendRootfs(path, spec.extra, work);
    const kernGuid = (await $`cgpt show -i 2 -u ${path}`).stdout.trim();
    return { path, kernGuid };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
