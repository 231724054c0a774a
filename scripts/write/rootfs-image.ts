// --rootfs IMAGE into its partition: copied, its unmountable features
// removed, grown, and moved into place. It is not e2fsck'ed first: verify
// checks the result in full, and only when something fails is the user's
// image itself checked, to say whose fault it is (damagedInput).
//
// The file system is grown while it sits at offset 0 of the temporary image,
// never at its partition's offset: on a regular file, resize2fs sets the
// file's length to the new size of the file system and ignores `?offset=`
// (e2fsprogs resize/main.c, `new_file_size`). At an offset that cuts off the
// partition's last OFFSET bytes after the resize has written there: the new
// groups' bitmaps of a 1 or 2 KiB-block file system ("Padding at end of block
// bitmap is not set"), and data near the end of a nearly full image.
// Moving it afterwards costs no copy where the file system holding --out can
// insert a range into a file (ext4, XFS: the extents shift); elsewhere its
// data extents are copied once more (a reflink on btrfs).
import { open, rename, rm, stat } from "node:fs/promises";
import { removeOnExit } from "../lib/cleanup.js";
import { UserError } from "../lib/errors.js";
import { run } from "../lib/exec.js";
import type { Bytes } from "../lib/units.js";
import { copyAndHash } from "./block-copy.js";
import { copyDataExtents, copyExtImage } from "./copy.js";
import { e2fsEnv } from "./extfs.js";

/**
 * Copies the user's image to offset 0 of a new file `img` and gives its
 * block hash (for the manifest, block-copy.ts), in one pass over its bytes. Needs no plan:
 * build starts it as soon as the rootfs input is read, so the copy runs
 * while the shim is read and the image planned.
 */
export async function copyRootfsImage(from: string, img: string, signal?: AbortSignal): Promise<string> {
  await (await open(img, "wx", 0o600)).close(); // never follow or reuse an existing file; its final mode is set when it is renamed into place
  return copyAndHash(from, img, 0 as Bytes, signal);
}

export interface RootfsImageWrite {
  /** the user's image (read only) */
  from: string;
  /** already copied to offset 0 of `img` (copyRootfsImage) */
  img: string;
  /** the partition's size: the file system is grown to it */
  bytes: Bytes;
  removeFeatures: string[];
  epoch: number;
  progress: (step: string) => void;
}

/** The copy at offset 0 of `img` made fit for its partition (shiftInto then moves it into place). */
export async function growRootfsImage(w: RootfsImageWrite): Promise<void> {
  if (w.removeFeatures.length) {
    w.progress(`rootfs: removing ${w.removeFeatures.join(", ")} (the shim's kernel cannot mount them)`);
    const r = await run("tune2fs", ["-O", w.removeFeatures.map((f) => `^${f}`).join(","), w.img], { env: e2fsEnv(w.epoch) });
    if (r.exitCode !== 0) throw (await damagedInput(w.from)) ?? new UserError(w.from, `--rootfs: tune2fs cannot remove ${w.removeFeatures.join(", ")} from a copy of this image: ${lastLine(r.stderr)}`, `make the image again without ${w.removeFeatures.length > 1 ? "them" : "it"} (mke2fs -O ${w.removeFeatures.map((f) => `^${f}`).join(",")})`);
  }
  w.progress("rootfs: growing the file system to its partition");
  const r = await run("resize2fs", ["-f", w.img, `${Math.floor(w.bytes / 1024)}K`], { env: e2fsEnv(w.epoch) });
  if (r.exitCode !== 0) throw (await damagedInput(w.from)) ?? new UserError(w.from, `--rootfs: resize2fs cannot grow this file system: ${lastLine(r.stderr)}`, "check the image with e2fsck -f, or make it again");
}

/**
 * The user's image checked in full (e2fsck -fn, read only): the error to
 * give when it is damaged, null when it is clean. Asked only once something
 * built from it has failed, so that a damaged input is not reported as a
 * bug of ours.
 */
export async function damagedInput(from: string): Promise<UserError | null> {
  const r = await run("e2fsck", ["-fn", from]);
  if (r.exitCode === 0) return null;
  const problem = `${r.stdout}\n${r.stderr}`.split("\n").map((l) => l.trim()).find((l) => l && !/^(Pass \d|e2fsck \d)|: \d+\/\d+ files/.test(l));
  return new UserError(from, `--rootfs: the ext4 image is damaged (e2fsck: ${problem ?? `exit ${r.exitCode}`})`, "repair it with e2fsck -f, or make it again");
}

/** Moves the file system from offset 0 to `offset`: an inserted range where possible, else a copy. */
export async function shiftInto(img: string, offset: Bytes): Promise<void> {
  const r = await run("xfs_io", ["-c", `finsert 0 ${offset}`, img]);
  if (r.exitCode === 0 && !r.stderr.trim()) return;
  const moved = `${img}.moving`;
  const forget = removeOnExit(moved);
  try {
    await (await open(moved, "wx", (await stat(img)).mode & 0o777)).close(); // the image's own mode (0600 with Wi-Fi passwords)
    if (!(await copyDataExtents(img, moved, offset))) await copyExtImage(img, moved, offset);
    await rename(moved, img);
  } catch (e) {
    await rm(moved, { force: true });
    throw e;
  } finally {
    forget();
  }
}

function lastLine(s: string): string {
  return s.trim().split("\n").filter((l) => l.trim() && !/^(resize2fs|tune2fs|e2fsck) \d/.test(l)).at(-1)?.trim() ?? "no message";
}
