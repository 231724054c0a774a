// Everything `shimboot build` reads before it plans: the shim, the recovery
// image, the rootfs, Wi-Fi credentials, and the checks that each is usable.
// The shim's and the recovery's SHA-256 are streamed while the rest is read;
// an image rootfs's block hash comes from whoever copies it (onRootfsFile).
import { stat } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { BuildOptions } from "../commands/build-options.js";
import { UserError } from "../lib/errors.js";
import type { Progress } from "../lib/progress.js";
import type { Bytes } from "../lib/units.js";
import { readChromeOsImage, readShim, type ChromeOsImage } from "./chromeos-image.js";
import { harvestDrivers, type DriverHarvest } from "./drivers.js";
import { sha256File } from "./hash.js";
import { readRootfsInput, type RootfsInput } from "./rootfs-input.js";
import { readWifiCredentials, type WifiNetwork } from "./wifi.js";

export type Shim = Awaited<ReturnType<typeof readShim>>;

export interface BuildInputs {
  shim: Shim;
  recovery: ChromeOsImage | null;
  rootfs: RootfsInput;
  wifi: WifiNetwork[];
  /** SHA-256s still being computed; a read error surfaces when awaited */
  hashes: { shim: Promise<string>; recovery: Promise<string> | null; rootfsImage: Promise<string> | null };
  /** closes the images; a hash not finished by then is stopped */
  close(): Promise<void>;
}

/** A hash started now and awaited later: an early rejection is not unhandled. */
function hashLater(path: string, signal: AbortSignal): Promise<string> {
  const p = sha256File(path, undefined, signal).then((h) => h.hex);
  p.catch(() => {});
  return p;
}

/**
 * `onRootfsFile` is called at once when --rootfs is a file, before it is
 * read (it is an image, or an error): build starts copying it then, so the
 * copy runs while everything else is read, and gives the block hash its copy
 * takes. A build that then fails stops the copy. Errors are still reported
 * in order: the shim's, the recovery's, the rootfs's.
 */
export async function readBuildInputs(o: BuildOptions, progress: Progress, onRootfsFile: (path: string, allocatedBytes: Bytes) => Promise<string> | null = () => null): Promise<BuildInputs> {
  const opened: { close(): Promise<void> }[] = [];
  // a build that fails, here or later, does not wait for a hash nobody needs any more (a recovery image's: seconds)
  const stopHashing = new AbortController();
  const close = async () => {
    stopHashing.abort();
    for (const h of opened) await h.close().catch(() => {});
  };
  // wrapped, so that awaiting the stat does not await the copy
  const copy = stat(o.rootfs).then((st) => ({ hash: st.isDirectory() ? null : onRootfsFile(o.rootfs, (st.blocks * 512) as Bytes) }), () => ({ hash: null }));
  const rootfsRead = readRootfsInput(o.rootfs);
  rootfsRead.catch(() => {}); // awaited below, after the shim's and the recovery's errors
  // from the start: the main thread waits for xz meanwhile (a read error shows where the file is read)
  const hashes = { shim: hashLater(o.shim, stopHashing.signal), recovery: o.recovery ? hashLater(o.recovery, stopHashing.signal) : null, rootfsImage: null as Promise<string> | null };
  try {
    progress("reading the shim");
    const shim = await readShim(o.shim, { signature: true });
    opened.push(shim);
    const recovery = o.recovery ? await readRecovery(o.recovery, opened) : null;
    const rootfs = await rootfsRead;
    if (rootfs.kind === "image") hashes.rootfsImage = (await copy).hash;
    if (!rootfs.hasInit) throw new UserError(o.rootfs, "--rootfs has no /sbin/init", "a NixOS rootfs from `nix build .#rootfs-<board>` has one; a bare directory needs sbin/init");
    const wifi = o.wifi ? await readWifiCredentials(o.wifi) : [];
    await checkDirectoryOptions(o, shim);
    return { shim, recovery, rootfs, wifi, hashes, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Only its ROOT-A is used (firmware, modprobe.d): its kernel is not decompressed. */
async function readRecovery(path: string, opened: { close(): Promise<void> }[]): Promise<ChromeOsImage> {
  const recovery = await readChromeOsImage(path, { kernel: false });
  opened.push(recovery);
  if (!recovery.rootfs) throw new UserError(path, `is ${recovery.kind === "shimboot" ? "a shimboot image" : "not a ChromeOS image with a readable ROOT-A"}`, "pass the unzipped official recovery image for this board");
  return recovery;
}

async function checkDirectoryOptions(o: BuildOptions, shim: Shim): Promise<void> {
  if (o.firmware) {
    const st = await stat(o.firmware).catch(() => null);
    if (!st?.isDirectory()) throw new UserError(o.firmware, "--firmware is not a directory", "pass a directory of firmware files laid out like /lib/firmware");
  }
  if (o.drivers !== "none" && !shim.rootfs) throw new UserError(o.shim, "ROOT-A is not readable, so there are no drivers to harvest", "use --drivers none");
  if (o.bootloaderDir && !existsSync(join(o.bootloaderDir, "bin/init"))) {
    throw new UserError(o.bootloaderDir, "--bootloader-dir has no bin/init", "point it at a directory laid out like scripts/bootloader (bin/init, bin/bootstrap.sh, lib/)");
  }
}

/** Modules of the shim kernel's release and firmware (shim, recovery, --firmware), staged in `work`. */
export async function readDrivers(o: BuildOptions, inputs: BuildInputs, release: string, work: string): Promise<DriverHarvest | null> {
  if (o.drivers === "none" || !inputs.shim.rootfs) return null;
  return harvestDrivers({ work, shimRoot: inputs.shim.rootfs.fs, kernelRelease: release, recoveryRoot: inputs.recovery?.rootfs?.fs ?? null, extraFirmware: o.firmware ?? null });
}
