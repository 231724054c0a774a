// Generated inputs (made once, cached under .cache/bench, keyed by their
// recipe and the mke2fs version): root file system trees and the ext4
// images made from them, sized like a small system and like a NixOS desktop
// closure.
import { $ } from "zx";
import { randomFillSync, createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { benchCache, toolVersion } from "./app.js";
import { log } from "./report.js";

export interface TreeRecipe {
  /** names the cache entry; bump `version` when the recipe changes */
  name: string;
  version: number;
  /** files of `bytes` each, in data/big */
  big: { count: number; bytes: number };
  /** files of a few KiB (sizes spread between `minBytes` and `maxBytes`), `perDir` in each of `dirs` directories */
  small: { dirs: number; perDir: number; minBytes: number; maxBytes: number };
  /** relative symlinks among the small files */
  symlinks: number;
  /** apparent size of the ext4 image made from the tree with mke2fs -d */
  imageSize: string | null;
}

export interface RootfsInput {
  recipe: TreeRecipe;
  dir: string;
  /** null when the recipe makes no image */
  image: string | null;
  key: string;
  imageBytes: number;
  usedBytes: number;
  /** bytes of file content in the tree (du -sb) */
  dataBytes: number;
  files: number;
  generatedNow: boolean;
}

export const ROOTFS_1G: TreeRecipe = { name: "rootfs-1g", version: 1, big: { count: 64, bytes: 16 << 20 }, small: { dirs: 30, perDir: 100, minBytes: 100, maxBytes: 16100 }, symlinks: 0, imageSize: "2G" };
/** About a NixOS desktop closure: 4 GiB in 200 000 files, many small, a few large. */
export const ROOTFS_4G: TreeRecipe = { name: "rootfs-4g", version: 1, big: { count: 150, bytes: 16 << 20 }, small: { dirs: 400, perDir: 500, minBytes: 100, maxBytes: 12100 }, symlinks: 20000, imageSize: "6G" };
/** A few MiB: the small build. */
export const ROOTFS_SMALL: TreeRecipe = { name: "rootfs-small", version: 1, big: { count: 1, bytes: 2 << 20 }, small: { dirs: 4, perDir: 50, minBytes: 100, maxBytes: 16000 }, symlinks: 20, imageSize: null };

export async function extUsage(spec: string): Promise<{ blockSize: number; blockCount: number; freeBlocks: number } | null> {
  // debugfs, not dumpe2fs: dumpe2fs >= 1.47.2 refuses a ?offset= spec
  const r = await $`debugfs -R ${"stats -h"} ${spec}`.nothrow();
  const f = (name: string) => Number(new RegExp(`^${name}:\\s*(\\d+)`, "m").exec(r.stdout)?.[1] ?? NaN);
  const u = { blockSize: f("Block size"), blockCount: f("Block count"), freeBlocks: f("Free blocks") };
  return r.exitCode === 0 && Object.values(u).every(Number.isFinite) ? u : null;
}

const smallSize = (r: TreeRecipe, i: number) => ((i * 7919) % (r.small.maxBytes - r.small.minBytes)) + r.small.minBytes;

async function writeTree(r: TreeRecipe, root: string) {
  await mkdir(join(root, "data/big"), { recursive: true });
  await mkdir(join(root, "sbin"), { recursive: true });
  const buf = Buffer.alloc(r.big.bytes);
  for (let i = 0; i < r.big.count; i++) await writeFile(join(root, `data/big/f${String(i).padStart(3, "0")}`), randomFillSync(buf));
  const small = Buffer.alloc(r.small.maxBytes);
  for (let d = 0; d < r.small.dirs; d++) {
    await mkdir(join(root, `data/small/d${d}`), { recursive: true });
    for (let k = 0; k < r.small.perDir; k++) await writeFile(join(root, `data/small/d${d}/f${k}`), randomFillSync(small, 0, smallSize(r, d * r.small.perDir + k)).subarray(0, smallSize(r, d * r.small.perDir + k)));
  }
  for (let i = 0; i < r.symlinks; i++) {
    const d = i % r.small.dirs;
    await mkdir(join(root, `data/links/d${d}`), { recursive: true });
    await symlink(`../../small/d${d}/f${i % r.small.perDir}`, join(root, `data/links/d${d}/l${i}`));
  }
  await writeFile(join(root, "sbin/init"), "#!/bin/sh\nexec /bin/sh\n");
  await chmod(join(root, "sbin/init"), 0o755);
}

/** The tree (and image) of `r`, generated now if the cache lacks it. */
export async function rootfsInput(r: TreeRecipe): Promise<RootfsInput> {
  const mke2fsVersion = await toolVersion("mke2fs -V 2>&1");
  const recipe = JSON.stringify(r);
  const key = createHash("sha256").update(`${recipe}\n${mke2fsVersion}`).digest("hex").slice(0, 12);
  const base = join(benchCache, `${r.name}-${key}`);
  const dir = join(base, "root");
  const image = r.imageSize ? join(base, "rootfs.img") : null;
  let generatedNow = false;
  if (!existsSync(join(base, "ok"))) {
    generatedNow = true;
    log(`generating ${r.name} in ${base} (once; cached)`);
    await mkdir(benchCache, { recursive: true });
    const gen = await mkdtemp(join(benchCache, ".gen-"));
    try {
      await writeTree(r, join(gen, "root"));
      if (r.imageSize) await $`mke2fs -q -F -t ext4 -L bench-rootfs -d ${join(gen, "root")} ${join(gen, "rootfs.img")} ${r.imageSize}`;
      await writeFile(join(gen, "ok"), `${recipe}\n${mke2fsVersion}\n`);
      await rm(base, { recursive: true, force: true });
      await rename(gen, base);
    } catch (e) {
      await rm(gen, { recursive: true, force: true });
      throw e;
    }
  }
  const dataBytes = Number((await $`du -sb ${dir}`).stdout.split(/\s/)[0]);
  const files = r.big.count + r.small.dirs * r.small.perDir + r.symlinks + 1;
  if (!image) return { recipe: r, dir, image, key, imageBytes: 0, usedBytes: 0, dataBytes, files, generatedNow };
  const u = await extUsage(image);
  if (!u) throw new Error(`${image} is not an ext4 image; remove ${base}`);
  return { recipe: r, dir, image, key, imageBytes: (await stat(image)).size, usedBytes: (u.blockCount - u.freeBlocks) * u.blockSize, dataBytes, files, generatedNow };
}
