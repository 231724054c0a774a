// Executes a plan: one pass into a temporary sparse file. Partition contents
// first (the rootfs, the big one, is copied exactly once), the GPT last.
import { open, truncate, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../lib/errors.js";
import { toBytes, type Bytes } from "../lib/units.js";
import type { Plan, PlannedPartition } from "../plan/plan.js";
import type { CpioEntry } from "../read/cpio.js";
import { extFsAt } from "../read/extfs.js";
import type { RootfsDirEntry } from "../read/rootfs-input.js";
import { stageBootloaderTree, type TreeFile } from "./bootloader-tree.js";
import { copyRange } from "./copy.js";
import { debugfsWrite, fixupCommands, makeExtFs } from "./extfs.js";
import { writeRootfsImage } from "./rootfs-image.js";
import { writeGpt } from "./gpt.js";
import { injectCommands, itemsFromTree, type InjectItem } from "./inject.js";

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
  rootfsEntries: RootfsDirEntry[] | null;
  wifiFiles: { name: string; content: string }[];
  progress: (step: string) => void;
  /** let long-running tools draw their own progress on the terminal */
  showProgress: boolean;
}

const offsetOf = (p: PlannedPartition): Bytes => toBytes(p.start);

export async function writeImage(w: WriteInputs): Promise<void> {
  const { plan, tmpImage: img, work } = w;
  const epoch = plan.sourceDateEpoch;
  // never follow or reuse an existing file; Wi-Fi passwords inside: owner only
  const fh = await open(img, "wx", plan.inject.wifiNetworks.length ? 0o600 : 0o644);
  await fh.close();
  await truncate(img, plan.totalBytes);

  const part = (role: PlannedPartition["role"]) => plan.partitions.find((p) => p.role === role);

  // The rootfs first: e2image and resize2fs set the file's length to the end
  // of the file system, so the image is extended again after them.
  const rootfs = part("rootfs")!;
  w.progress(`rootfs: writing ${rootfs.label}`);
  if (rootfs.content.kind === "rootfs-image") {
    const c = rootfs.content;
    await writeRootfsImage({ from: c.from, img, offset: offsetOf(rootfs), bytes: rootfs.bytes, removeFeatures: c.removeFeatures, epoch, showProgress: w.showProgress, progress: w.progress });
    await truncate(img, plan.totalBytes); // resize2fs set the file's length to the file system's
  } else if (rootfs.content.kind === "rootfs-dir") {
    await makeExtFs(img, offsetOf(rootfs), rootfs.bytes, rootfs.content.fs, rootfs.content.from, epoch);
    w.progress("rootfs: owners root:root, times from SOURCE_DATE_EPOCH");
    const cmds = fixupCommands("/", { uid: 0, gid: 0 }, epoch);
    for (const e of w.rootfsEntries ?? []) cmds.push(...fixupCommands("/" + e.path, { uid: 0, gid: 0 }, epoch));
    cmds.push(...fixupCommands("/lost+found", { uid: 0, gid: 0, mtime: epoch }, epoch));
    await debugfsWrite(img, offsetOf(rootfs), cmds, work, epoch, "the rootfs");
  }
  const items: InjectItem[] = [];
  if (plan.inject.drivers && w.driversRoot) items.push(...await itemsFromTree(join(w.driversRoot, "lib"), "/lib"));
  if (w.wifiFiles.length) {
    const dir = join(work, "wifi");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const f of w.wifiFiles) {
      const src = join(dir, f.name);
      await writeFile(src, f.content, { mode: 0o600 });
      items.push({ dest: `/etc/NetworkManager/system-connections/${f.name}`, source: src, mode: 0o600 });
    }
  }
  if (items.length) {
    w.progress(`rootfs: adding ${items.length} driver and network files`);
    const fs = extFsAt(img, rootfs.start, `${img} rootfs`);
    await debugfsWrite(img, offsetOf(rootfs), await injectCommands(fs, items, epoch), work, epoch, "the rootfs");
  }

  const vendor = part("vendor");
  if (vendor?.content.kind === "vendor" && w.driversRoot) {
    w.progress("vendor: drivers partition");
    await makeExtFs(img, offsetOf(vendor), vendor.bytes, vendor.content.fs, w.driversRoot, epoch);
    const cmds = [...fixupCommands("/", { uid: 0, gid: 0, mtime: epoch }, epoch), ...fixupCommands("/lost+found", { uid: 0, gid: 0, mtime: epoch }, epoch)];
    for (const it of await itemsFromTree(w.driversRoot, "")) cmds.push(...fixupCommands(it.dest, { uid: 0, gid: 0, mtime: epoch }, epoch));
    await debugfsWrite(img, offsetOf(vendor), cmds, work, epoch, "the vendor partition");
  }

  const kernel = part("kernel")!;
  if (kernel.content.kind === "kernel") {
    w.progress("kernel: copying the shim's KERN-A byte for byte");
    await copyRange(kernel.content.from, kernel.content.offset, img, offsetOf(kernel), kernel.content.length);
  }

  const state = part("state")!;
  if (state.content.kind === "state") {
    w.progress("state: STATE partition");
    const dir = join(work, "state");
    await mkdir(join(dir, "dev_image/etc"), { recursive: true });
    await mkdir(join(dir, "dev_image/factory/sh"), { recursive: true });
    await writeFile(join(dir, "dev_image/etc/lsb-factory"), "");
    await makeExtFs(img, offsetOf(state), state.bytes, state.content.fs, dir, epoch);
    const dirs = ["/", "/dev_image", "/dev_image/etc", "/dev_image/factory", "/dev_image/factory/sh"];
    const cmds = [
      ...dirs.flatMap((p) => fixupCommands(p, { mode: 0o040755, uid: 0, gid: 0, mtime: epoch }, epoch)),
      ...fixupCommands("/lost+found", { uid: 0, gid: 0, mtime: epoch }, epoch),
      ...fixupCommands("/dev_image/etc/lsb-factory", { mode: 0o100644, uid: 0, gid: 0, mtime: epoch }, epoch),
    ];
    await debugfsWrite(img, offsetOf(state), cmds, work, epoch, "the STATE partition");
  }

  const boot = part("bootloader")!;
  if (boot.content.kind === "bootloader") {
    w.progress("bootloader: the shim's initramfs tree with shimboot's init");
    const tree = await stageBootloaderTree(join(work, "bootloader"), w.initramfs, [...w.overlay, await w.manifest()], epoch);
    await makeExtFs(img, offsetOf(boot), boot.bytes, boot.content.fs, tree.dir, epoch);
    await debugfsWrite(img, offsetOf(boot), tree.fixups, work, epoch, "the bootloader partition");
  }

  w.progress("partition table");
  await writeGpt(img, plan);
  const check = await open(img, "r+");
  try {
    await check.sync();
  } finally {
    await check.close();
  }
  const { size } = await import("node:fs/promises").then((m) => m.stat(img));
  if (size !== plan.totalBytes) throw new UserError(img, `has ${size} bytes, planned ${plan.totalBytes}`, "this is a bug; please report it");
}
