// Assembles small shimboot-layout disk images for the QEMU boot test
// (DESIGN.md §2), standing in for `shimboot build` until the test switches to
// it: p1 STATE ext4, p2 a ChromeOS kernel partition (zeros: QEMU boots the
// test kernel with -kernel), p3 the bootloader (ext2, ChromeOS rootfs type: a
// busybox-static tree with cgpt, the bootloader scripts and
// /etc/shimboot/bootloader.conf), p4.. ext4 partitions named
// shimboot_rootfs:<label>. Rootless: cgpt on the file, mke2fs -d -E offset
// under fakeroot.
import { $ } from "zx";
import { chmod, copyFile, lutimes, mkdir, mkdtemp, readdir, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { BOOTLOADER_DIR, BUSYBOX } from "./env.js";
import { copyWithLibraries, which } from "./stage0.js";

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
}

export interface TestDiskSpec {
  /** Partitions 4, 5, ... in order. */
  rootfs: RootfsSpec[];
  /** Content of p3's /etc/shimboot/bootloader.conf; null leaves it out. */
  config?: string | null;
  /** Extra files in the bootloader partition. */
  bootloaderTree?: Tree;
  /** Put cgpt (and its libraries) into p3 as the shim's tree has it (default true). */
  cgpt?: boolean;
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

/** The bootloader files as `shimboot build` installs them over the shim's tree (README.md). */
export async function installBootloader(root: string): Promise<void> {
  for (const sub of ["bin", "lib"]) {
    const src = join(BOOTLOADER_DIR, sub);
    await mkdir(join(root, sub), { recursive: true });
    for (const f of await readdir(src)) {
      await rm(join(root, sub, f), { force: true });
      await copyFile(join(src, f), join(root, sub, f));
      await chmod(join(root, sub, f), sub === "bin" ? 0o755 : 0o644);
    }
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

interface Part {
  index: number;
  name: string;
  type: "data" | "kernel" | "rootfs";
  sizeMiB: number;
  fs?: { type: "ext2" | "ext4"; dir: string };
  attrs?: string[];
}

async function mkfs(image: string, offset: number, sizeMiB: number, fsType: string, dir: string, label: string) {
  // ownership root:root without root: chown inside the same fakeroot session
  await $`fakeroot -- sh -c ${'set -e; chown -R 0:0 "$1"; mke2fs -q -F -t "$2" -L "$3" -d "$1" -E offset="$4" "$5" "$6"'} sh ${dir} ${fsType} ${label} ${offset} ${image} ${`${sizeMiB * 1024}k`}`;
}

async function duMiB(dir: string): Promise<number> {
  const kib = Number((await $`du -sk ${dir}`).stdout.split(/\s/)[0]);
  return Math.ceil(kib / 1024);
}

/** Builds the disk image at `path` (overwritten) and returns it with its kern_guid. */
export async function makeTestDisk(path: string, spec: TestDiskSpec): Promise<TestDisk> {
  const work = await mkdtemp(join(tmpdir(), "shimboot-disk-"));
  try {
    // p1 STATE: what older shims require (DESIGN §2).
    const state = join(work, "state");
    await writeTree(state, { "dev_image/etc/lsb-factory": "", "dev_image/factory/sh": { dir: true } });

    // p3 bootloader: a busybox tree shaped like the shim's initramfs.
    const boot = join(work, "bootloader");
    await installBusybox(boot);
    if (spec.cgpt ?? true) await copyWithLibraries(await which("cgpt"), boot, "/bin/cgpt");
    await symlink("bin", join(boot, "sbin"));
    await symlink(".", join(boot, "usr"));
    for (const d of ["dev", "proc", "sys", "tmp", "run", "etc/shimboot"]) await mkdir(join(boot, d), { recursive: true });
    await installBootloader(boot);
    if (spec.config !== null) {
      await writeFile(join(boot, "etc/shimboot/bootloader.conf"), spec.config ?? "SHIMBOOT_TIMEOUT=1\nSHIMBOOT_DEFAULT=\n");
    }
    if (spec.bootloaderTree) await writeTree(boot, spec.bootloaderTree);

    const parts: Part[] = [
      { index: 1, name: "STATE", type: "data", sizeMiB: 2, fs: { type: "ext4", dir: state } },
      { index: 2, name: "KERN-A", type: "kernel", sizeMiB: 1, attrs: ["-S", "1", "-T", "5", "-P", "10"] },
      { index: 3, name: "ROOT-A", type: "rootfs", sizeMiB: Math.max(8, Math.ceil((await duMiB(boot)) * 1.3) + 2), fs: { type: "ext2", dir: boot } },
    ];
    let index = 4;
    for (const r of spec.rootfs) {
      const dir = join(work, `rootfs${index}`);
      await mkdir(dir, { recursive: true });
      for (const d of ["dev", "proc", "sys", "tmp"]) await mkdir(join(dir, d), { recursive: true });
      if (r.busybox ?? true) {
        await installBusybox(dir, ["sh", "echo", "ls", "cat", "sync", "poweroff", "mount", "find"]);
      }
      if (r.tree) await writeTree(dir, r.tree);
      const size = r.sizeMiB ?? Math.max(6, (await duMiB(dir)) * 2 + 3);
      parts.push({ index, name: r.gptName ?? `shimboot_rootfs:${r.label}`, type: "data", sizeMiB: size, fs: { type: "ext4", dir } });
      index++;
    }

    // Layout: 1 MiB aligned from 1 MiB; the backup GPT needs 33 sectors at the end.
    let start = 1;
    const placed = parts.map((p) => {
      const at = start;
      start += p.sizeMiB;
      return { ...p, startMiB: at };
    });
    await rm(path, { force: true });
    await writeFile(path, "");
    await truncate(path, (start + 1) * MiB);
    await $`cgpt create ${path}`;
    // A protective MBR: without it Linux ignores the GPT (no partitions at all).
    await $`cgpt boot -p ${path}`;
    for (const p of placed) {
      await $`cgpt add -i ${p.index} -b ${(p.startMiB * MiB) / SECTOR} -s ${(p.sizeMiB * MiB) / SECTOR} -t ${p.type} -l ${p.name} ${p.attrs ?? []} ${path}`;
    }
    for (const p of placed) {
      if (p.fs) await mkfs(path, p.startMiB * MiB, p.sizeMiB, p.fs.type, p.fs.dir, p.index === 1 ? "STATE" : `p${p.index}`);
    }
    const kernGuid = (await $`cgpt show -i 2 -u ${path}`).stdout.trim();
    return { path, kernGuid };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
