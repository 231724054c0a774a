// Builds a disk image that meets the shimboot contract (DESIGN.md §2) by hand,
// from a fixture shim and the real tools, so verify can be tested before
// `shimboot build` exists. A test may change the layout or the trees before
// the image is written, to break exactly one item.
import { $ } from "zx";
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fixture, FIXTURES, type FixtureName } from "../fixtures/fixtures.js";
import { DATA_TYPE, KERNEL_TYPE, ROOTFS_TYPE } from "../fixtures/chromeos-disk.js";

$.quiet = true;

const SECTOR = 512;

/** Features every shim kernel (4.4 and newer) mounts: the policy's base lists. */
export const EXT4_FEATURES = ["has_journal", "ext_attr", "resize_inode", "dir_index", "filetype", "extent", "flex_bg", "sparse_super", "large_file", "huge_file", "dir_nlink", "extra_isize", "64bit", "metadata_csum"];
export const EXT2_FEATURES = ["ext_attr", "resize_inode", "dir_index", "filetype", "sparse_super", "large_file"];

export interface ExtContent {
  ext: "ext2" | "ext4";
  dir: string;
  features: string[];
  /** create dev/console (char 5:1) with debugfs after mke2fs (mke2fs -d cannot without root) */
  devConsole?: boolean;
}

export interface PartSpec {
  index: number;
  label: string;
  type: string;
  sectors: number;
  content?: ExtContent | { shimKernel: true };
  attrs?: { successful: number; tries: number; priority: number };
}

export interface Layout {
  shimPath: string;
  kernelRelease: string;
  /** partitions in on-disk order (not necessarily index order) */
  parts: PartSpec[];
  trees: { state: string; bootloader: string; rootfs: string; vendor: string };
  /** false leaves the protective MBR out */
  protectiveMbr: boolean;
}

export interface ContractImage {
  path: string;
  shimPath: string;
  kernelRelease: string;
  /** start sector of each partition, by index */
  starts: Map<number, number>;
  layout: Layout;
}

async function put(root: string, rel: string, content: string, mode = 0o644) {
  const p = join(root, rel);
  await mkdir(dirname(p), { recursive: true });
  await writeFile(p, content);
  await chmod(p, mode);
}

async function writeTrees(work: string, shim: FixtureName, kernelRelease: string) {
  const state = join(work, "state");
  await put(state, "dev_image/etc/lsb-factory", "");
  await mkdir(join(state, "dev_image/factory/sh"), { recursive: true });

  const boot = join(work, "bootloader");
  await put(boot, "bin/init", "#!/bin/busybox sh\n# shimboot bootloader\nexec /bin/bootstrap.sh\n", 0o755);
  await put(boot, "bin/bootstrap.sh", "#!/bin/busybox sh\necho shimboot\n", 0o755);
  await put(boot, "bin/busybox", "placeholder busybox\n", 0o755);
  await symlink("bin", join(boot, "sbin"));
  await symlink(".", join(boot, "usr"));
  for (const d of ["dev", "proc", "sys", "tmp"]) await mkdir(join(boot, d), { recursive: true });
  await put(boot, "etc/shimboot/bootloader.conf", "default=nixos\n");
  const manifest = {
    tool: { name: "shimboot", version: "0.1.0" },
    inputs: { shim: { sha256: "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", path: `${shim}.bin` } },
    kernelRelease,
    board: FIXTURES[shim].board,
    layout: { partitions: 5 },
  };
  await put(boot, "shimboot/manifest.json", JSON.stringify(manifest, null, 2) + "\n");

  const rootfs = join(work, "rootfs");
  await mkdir(join(rootfs, "sbin"), { recursive: true });
  await symlink("/nix/var/nix/profiles/system/init", join(rootfs, "sbin/init"));
  await put(rootfs, "etc/NIXOS", "");
  await mkdir(join(rootfs, "nix/store"), { recursive: true });

  const vendor = join(work, "vendor");
  await put(vendor, `lib/modules/${kernelRelease}/modules.dep`, "");
  await put(vendor, "lib/firmware/regulatory.db", "firmware\n");
  return { state, bootloader: boot, rootfs, vendor };
}

/** The conforming layout for a fixture shim; trees are written, the image is not. */
export async function contractLayout(work: string, shim: FixtureName = "shim-x86"): Promise<Layout> {
  const spec = FIXTURES[shim];
  if (spec.kind !== "shim") throw new Error(`${shim} is not a shim fixture`);
  const trees = await writeTrees(work, shim, spec.kernelRelease);
  return {
    shimPath: await fixture(shim),
    kernelRelease: spec.kernelRelease,
    protectiveMbr: true,
    trees,
    parts: [
      { index: 1, label: "STATE", type: DATA_TYPE, sectors: 4096, content: { ext: "ext4", dir: trees.state, features: [...EXT4_FEATURES] } },
      { index: 2, label: "KERN-A", type: KERNEL_TYPE, sectors: spec.kernSectors, content: { shimKernel: true }, attrs: { successful: 1, tries: 5, priority: 10 } },
      { index: 3, label: "bootloader", type: ROOTFS_TYPE, sectors: 8192, content: { ext: "ext2", dir: trees.bootloader, features: [...EXT2_FEATURES], devConsole: true } },
      { index: 4, label: "shimboot_rootfs:vendor", type: DATA_TYPE, sectors: 16384, content: { ext: "ext4", dir: trees.vendor, features: [...EXT4_FEATURES] } },
      { index: 5, label: "shimboot_rootfs:nixos", type: DATA_TYPE, sectors: 32768, content: { ext: "ext4", dir: trees.rootfs, features: [...EXT4_FEATURES] } },
    ],
  };
}

/** Writes `layout` into `out` with truncate, cgpt, dd, mke2fs and debugfs. */
export async function writeContractImage(out: string, layout: Layout): Promise<ContractImage> {
  const shimKernStart = Number((await $`cgpt show -i 2 -b ${layout.shimPath}`).stdout);
  const shimKernSize = Number((await $`cgpt show -i 2 -s ${layout.shimPath}`).stdout);
  let next = 64;
  const starts = new Map<number, number>();
  for (const p of layout.parts) {
    const start = Math.ceil(next / 8) * 8;
    starts.set(p.index, start);
    next = start + p.sectors;
  }
  await rm(out, { force: true });
  await $`truncate -s ${(next + 33 + 8) * SECTOR} ${out}`;
  await $`cgpt create ${out}`;
  for (const p of layout.parts) {
    const a = p.attrs ? ["-S", p.attrs.successful, "-T", p.attrs.tries, "-P", p.attrs.priority] : [];
    await $`cgpt add -i ${p.index} -b ${starts.get(p.index)!} -s ${p.sectors} -t ${p.type} -l ${p.label} ${a} ${out}`;
  }
  if (layout.protectiveMbr) await $`cgpt boot -p ${out}`;
  for (const p of layout.parts) {
    const start = starts.get(p.index)!;
    if (!p.content) continue;
    if ("shimKernel" in p.content) {
      await $`dd if=${layout.shimPath} of=${out} bs=512 skip=${shimKernStart} seek=${start} count=${Math.min(shimKernSize, p.sectors)} conv=notrunc,sparse status=none`;
      continue;
    }
    const c = p.content;
    const spec = `${out}?offset=${start * SECTOR}`;
    await $`mke2fs -q -F -t ${c.ext} -b 4096 -O ${["none", ...c.features].join(",")} -E offset=${start * SECTOR},root_owner=0:0 -L ${p.label.slice(-16)} -d ${c.dir} ${out} ${Math.floor((p.sectors * SECTOR) / 4096)}`;
    if (c.devConsole) {
      // debugfs 1.47's mknod does not split a path: create the node from inside /dev.
      await $({ input: "cd /dev\nmknod console c 5 1\nsif /dev/console mode 020600\n" })`debugfs -w -f - ${spec}`;
    }
  }
  return { path: out, shimPath: layout.shimPath, kernelRelease: layout.kernelRelease, starts, layout };
}

/** A scratch directory for one test's images and trees. */
export async function scratch(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "shimboot-verify-test-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Lays out, lets `tweak` break something, writes: one call per test. */
export async function makeContractImage(dir: string, opts: { shim?: FixtureName; name?: string; tweak?: (l: Layout) => void | Promise<void> } = {}): Promise<ContractImage> {
  const work = await mkdtemp(join(dir, "trees-"));
  const layout = await contractLayout(work, opts.shim ?? "shim-x86");
  await opts.tweak?.(layout);
  return writeContractImage(join(dir, `${opts.name ?? "image"}.bin`), layout);
}
