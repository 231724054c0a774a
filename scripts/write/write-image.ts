// Executes a plan: one pass into a temporary sparse file. Partition contents
// first, side by side (the rootfs, the big one, is copied exactly once), the
// GPT last. Making it durable is output.ts's step, beside verify.
import { rmSync } from "node:fs";
import { mkdir, open, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../lib/errors.js";
import { toBytes, type Bytes } from "../lib/units.js";
import type { Plan, PlannedPartition } from "../plan/plan.js";
import type { CpioEntry } from "../read/cpio.js";
import type { ExtFs } from "../read/extfs.js";
import { rootfsEntries, type RootfsListing } from "../read/rootfs-input.js";
import { stageBootloaderTree, type TreeFile } from "./bootloader-tree.js";
import { MANIFEST_PLACEHOLDER } from "./bootloader-overlay.js";
import { copyDataExtents, copyRange } from "./copy.js";
import { debugfsWrite, fixupCommands, makeExtFs } from "./extfs.js";
import { copyRootfsImage, growRootfsImage, shiftInto } from "./rootfs-image.js";
import { writeGpt } from "./gpt.js";
import { injectCommands, itemsFromTree, type InjectItem } from "./inject.js";
import { allSteps } from "../lib/parallel.js";

export interface WriteInputs {
  plan: Plan;
  tmpImage: string;
  work: string;
  initramfs: CpioEntry[];
  /** bootloader files, bootloader.conf and manifest, as tree files */
  overlay: TreeFile[];
  /** computed after the rootfs is written (it may hash the rootfs) */
  manifest: () => Promise<TreeFile>;
  driversRoot: string | null;
  rootfsListing: RootfsListing | null;
  wifiFiles: { name: string; content: string }[];
  progress: (step: string) => void;
  /** let long-running tools draw their own progress on the terminal */
  showProgress: boolean;
  /** an image rootfs already being copied to offset 0 of tmpImage (build starts it early), else null */
  rootfsCopy: Promise<unknown> | null;
}

const offsetOf = (p: PlannedPartition): Bytes => toBytes(p.start);

export async function writeImage(w: WriteInputs): Promise<void> {
  const { plan, tmpImage: img } = w;
  const rootfs = plan.partitions.find((p) => p.role === "rootfs")!;
  if (rootfs.content.kind === "rootfs-image") await writeAroundImageRootfs(w, rootfs, rootfs.content);
  else await writeAroundDirRootfs(w, rootfs);

  w.progress("partition table");
  await writeGpt(img, plan);
  const { size } = await stat(img);
  if (size !== plan.totalBytes) throw new UserError(img, `has ${size} bytes, planned ${plan.totalBytes}`, "this is a bug; please report it");
}

/** Where a partition's bytes go: a file and an offset in it. */
interface Target {
  file: string;
  offset: Bytes;
}

/**
 * A rootfs made from a directory, at its offset, while the partitions
 * before it are written beside it (two cores; each its own byte range).
 */
async function writeAroundDirRootfs(w: WriteInputs, rootfs: PlannedPartition): Promise<void> {
  const { plan, tmpImage: img } = w;
  await (await open(img, "wx", 0o600)).close(); // never follow or reuse an existing file; its final mode is set when it is renamed into place
  await truncate(img, plan.totalBytes);
  const at = { file: img, offset: offsetOf(rootfs) };
  await allSteps([(async () => (await writeRootfsDir(w, rootfs), await injectIntoRootfs(w, at)))(), writeHead(w, img)]);
}

/**
 * An image rootfs is grown at offset 0 of the file and then shifted into
 * its partition (rootfs-image.ts), so the partitions before it are written
 * meanwhile (from the start of its copy) into a file of their own and copied
 * in once it has moved.
 */
async function writeAroundImageRootfs(w: WriteInputs, rootfs: PlannedPartition, c: Extract<PlannedPartition["content"], { kind: "rootfs-image" }>): Promise<void> {
  const { plan, tmpImage: img } = w;
  const epoch = plan.sourceDateEpoch;
  const head = join(w.work, "head.img");
  await (await open(head, "wx", 0o600)).close();
  await truncate(head, offsetOf(rootfs));
  const grow = async () => {
    w.progress(`rootfs: writing ${rootfs.label}`);
    await (w.rootfsCopy ?? copyRootfsImage(c.from, img));
    await growRootfsImage({ from: c.from, img, bytes: rootfs.bytes, removeFeatures: c.removeFeatures, epoch, progress: w.progress });
    await injectIntoRootfs(w, { file: img, offset: 0 as Bytes });
  };
  // the head is written while the rootfs is still being copied; only the
  // manifest in the bootloader partition waits for the copy's hash
  await allSteps([grow(), writeHead(w, head)]);
  await shiftInto(img, offsetOf(rootfs));
  if (!(await copyDataExtents(head, img, 0 as Bytes))) await copyRange(head, 0 as Bytes, img, 0 as Bytes, offsetOf(rootfs));
  await truncate(img, plan.totalBytes); // resize2fs set the file's length to the file system's
}

/** Every partition before the rootfs, side by side, into `file` at their planned offsets. */
async function writeHead(w: WriteInputs, file: string): Promise<void> {
  const part = (role: PlannedPartition["role"]) => w.plan.partitions.find((p) => p.role === role);
  await allSteps([writeVendor(w, file, part("vendor")), writeKernel(w, file, part("kernel")!), writeState(w, file, part("state")!), writeBootloader(w, file, part("bootloader")!)]);
}

async function writeRootfsDir(w: WriteInputs, rootfs: PlannedPartition): Promise<void> {
  if (rootfs.content.kind !== "rootfs-dir") return;
  const { plan, tmpImage: img } = w;
  const epoch = plan.sourceDateEpoch;
  w.progress(`rootfs: writing ${rootfs.label}`);
  await makeExtFs(img, offsetOf(rootfs), rootfs.bytes, rootfs.content.fs, rootfs.content.from, epoch);
  w.progress("rootfs: owners root:root, times from SOURCE_DATE_EPOCH");
  const listing = w.rootfsListing;
  function* cmds() {
    yield* fixupCommands("/", { uid: 0, gid: 0 }, epoch);
    // mke2fs -d copied each owner: only those that are not root already are set (a root-owned
    // tree, as the Nix store's, needs times only: half the debugfs commands)
    for (const e of listing ? rootfsEntries(listing) : []) yield* fixupCommands("/" + e.path, { ...(e.uid !== 0 && { uid: 0 }), ...(e.gid !== 0 && { gid: 0 }) }, epoch);
    yield* fixupCommands("/lost+found", { uid: 0, gid: 0, mtime: epoch }, epoch);
  }
  await debugfsWrite(img, offsetOf(rootfs), cmds(), w.work, epoch, "the rootfs");
}

/** Drivers (--drivers inject) and Wi-Fi connections into the rootfs. */
async function injectIntoRootfs(w: WriteInputs, at: Target): Promise<void> {
  const { plan, work } = w;
  const epoch = plan.sourceDateEpoch;
  const items: InjectItem[] = [];
  if (plan.inject.drivers && w.driversRoot) items.push(...(await itemsFromTree(join(w.driversRoot, "lib"), "/lib")));
  if (w.wifiFiles.length) {
    const dir = join(work, "wifi");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const f of w.wifiFiles) {
      const src = join(dir, f.name);
      await writeFile(src, f.content, { mode: 0o600 });
      items.push({ dest: `/etc/NetworkManager/system-connections/${f.name}`, source: src, mode: 0o600 });
    }
  }
  if (!items.length) return;
  w.progress(`rootfs: adding ${items.length} driver and network files`);
  const fs: ExtFs = { spec: `${at.file}?offset=${at.offset}`, where: `${at.file} rootfs` };
  await debugfsWrite(at.file, at.offset, await injectCommands(fs, items, epoch), work, epoch, "the rootfs");
}

async function writeVendor(w: WriteInputs, file: string, vendor: PlannedPartition | undefined): Promise<void> {
  if (vendor?.content.kind !== "vendor" || !w.driversRoot) return;
  const epoch = w.plan.sourceDateEpoch;
  w.progress("vendor: drivers partition");
  await makeExtFs(file, offsetOf(vendor), vendor.bytes, vendor.content.fs, w.driversRoot, epoch);
  const cmds = [...fixupCommands("/", { uid: 0, gid: 0, mtime: epoch }, epoch), ...fixupCommands("/lost+found", { uid: 0, gid: 0, mtime: epoch }, epoch)];
  for (const it of await itemsFromTree(w.driversRoot, "")) cmds.push(...fixupCommands(it.dest, { uid: 0, gid: 0, mtime: epoch }, epoch));
  await debugfsWrite(file, offsetOf(vendor), cmds, w.work, epoch, "the vendor partition");
}

async function writeKernel(w: WriteInputs, file: string, kernel: PlannedPartition): Promise<void> {
  if (kernel.content.kind !== "kernel") return;
  w.progress("kernel: copying the shim's KERN-A byte for byte");
  await copyRange(kernel.content.from, kernel.content.offset, file, offsetOf(kernel), kernel.content.length);
}

async function writeState(w: WriteInputs, file: string, state: PlannedPartition): Promise<void> {
  if (state.content.kind !== "state") return;
  const epoch = w.plan.sourceDateEpoch;
  w.progress("state: STATE partition");
  const dir = join(w.work, "state");
  await mkdir(join(dir, "dev_image/etc"), { recursive: true });
  await mkdir(join(dir, "dev_image/factory/sh"), { recursive: true });
  await writeFile(join(dir, "dev_image/etc/lsb-factory"), "");
  await makeExtFs(file, offsetOf(state), state.bytes, state.content.fs, dir, epoch);
  const dirs = ["/", "/dev_image", "/dev_image/etc", "/dev_image/factory", "/dev_image/factory/sh"];
  const cmds = [
    ...dirs.flatMap((p) => fixupCommands(p, { mode: 0o040755, uid: 0, gid: 0, mtime: epoch }, epoch)),
    ...fixupCommands("/lost+found", { uid: 0, gid: 0, mtime: epoch }, epoch),
    ...fixupCommands("/dev_image/etc/lsb-factory", { mode: 0o100644, uid: 0, gid: 0, mtime: epoch }, epoch),
  ];
  await debugfsWrite(file, offsetOf(state), cmds, w.work, epoch, "the STATE partition");
}

async function writeBootloader(w: WriteInputs, file: string, boot: PlannedPartition): Promise<void> {
  if (boot.content.kind !== "bootloader") return;
  const epoch = w.plan.sourceDateEpoch;
  w.progress("bootloader: the shim's initramfs tree with shimboot's init");
  // the tree is staged while the manifest waits for the rootfs image's hash
  const manifest = w.manifest();
  manifest.catch(() => {}); // awaited below
  const tree = await stageBootloaderTree(join(w.work, "bootloader"), w.initramfs, [...w.overlay, { ...MANIFEST_PLACEHOLDER, content: "" }], epoch);
  const m = await manifest;
  if (m.path !== MANIFEST_PLACEHOLDER.path || m.mode !== MANIFEST_PLACEHOLDER.mode) throw new Error(`the manifest must be ${MANIFEST_PLACEHOLDER.path}, mode 0644`);
  await writeFile(join(tree.dir, m.path), m.content);
  await makeExtFs(file, offsetOf(boot), boot.bytes, boot.content.fs, tree.dir, epoch);
  const fixed = debugfsWrite(file, offsetOf(boot), tree.fixups, w.work, epoch, "the bootloader partition");
  fixed.catch(() => {}); // awaited below
  // mke2fs has copied the tree: it goes while debugfs runs, not at the end of the build
  rmSync(tree.dir, { recursive: true, force: true });
  await fixed;
}
