// The flash target: which disk DEVICE really is, and every reason not to
// write to it. Everything is read from sysfs and procfs (roots injectable so
// tests can use a fake tree); nothing here writes.
import { readFile, readdir, realpath, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { UserError } from "../lib/errors.js";
import { formatBytes, SECTOR_SIZE } from "../lib/units.js";

/** Where the kernel's views live: "/sys" and "/proc" on a real system. */
export interface Host {
  sys: string;
  proc: string;
}

export const REAL_HOST: Host = { sys: "/sys", proc: "/proc" };

export interface DevNum {
  major: number;
  minor: number;
}

export const devKey = (d: DevNum) => `${d.major}:${d.minor}`;

export interface Target {
  /** DEVICE as given */
  path: string;
  kind: "block" | "file";
  /** kernel name (sdb) of a block device, base name of a file */
  name: string;
  /** bytes */
  size: number;
  model: string | null;
  vendor: string | null;
  removable: boolean;
  usb: boolean;
  /** partitions the kernel knows (kernel names) */
  partitions: string[];
  /** device numbers of the disk and its partitions (block devices only) */
  devs: string[];
  /** identity of a file target: refuses flashing an image onto itself */
  fileId: string | null;
}

const LSBLK_HINT = "list drives with `lsblk -o NAME,SIZE,MODEL,TRAN,RM` and pass the USB drive's whole disk, e.g. /dev/sdb";

async function readText(path: string): Promise<string | null> {
  try {
    return (await readFile(path, "utf8")).trim();
  } catch {
    return null;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Linux dev_t → major:minor (glibc's encoding). */
export function splitDev(rdev: bigint): DevNum {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n));
  return { major, minor };
}

export interface TargetOptions {
  allowFile: boolean;
}

/** Resolves DEVICE to a whole disk (or, with allowFile, a regular file). */
export async function probeTarget(path: string, opts: TargetOptions, host: Host = REAL_HOST): Promise<Target> {
  let st;
  try {
    st = await stat(path, { bigint: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UserError(path, "no such device", `is the drive plugged in? ${LSBLK_HINT}`);
    if (code === "EACCES") throw new UserError(path, "permission denied", "run it as root: sudo shimboot flash IMAGE DEVICE (flash is the only command that needs root)");
    throw new UserError(path, `cannot look at the device: ${(e as Error).message}`);
  }
  if (st.isBlockDevice()) return describeBlockDevice(path, splitDev(st.rdev), host);
  if (st.isFile()) {
    if (!opts.allowFile) throw new UserError(path, "is a regular file, not a block device", `${LSBLK_HINT}; --allow-file writes into a file instead (for tests)`);
    if (st.size % BigInt(SECTOR_SIZE) !== 0n) throw new UserError(path, `is ${st.size} bytes, not a whole number of 512-byte sectors`, "a disk-like target file must be a multiple of 512 bytes (truncate -s SIZE FILE)");
    return {
      path,
      kind: "file",
      name: basename(path),
      size: Number(st.size),
      model: null,
      vendor: null,
      removable: false,
      usb: false,
      partitions: [],
      devs: [],
      fileId: `${st.dev}:${st.ino}`,
    };
  }
  if (st.isDirectory()) throw new UserError(path, "is a directory, not a block device", LSBLK_HINT);
  throw new UserError(path, "is not a block device", LSBLK_HINT);
}

/** Reads a block device's facts from sysfs; refuses partitions and read-only disks. */
export async function describeBlockDevice(path: string, dev: DevNum, host: Host = REAL_HOST): Promise<Target> {
  let dir: string;
  try {
    dir = await realpath(join(host.sys, "dev/block", devKey(dev)));
  } catch {
    throw new UserError(path, `the kernel lists no block device ${devKey(dev)} in ${join(host.sys, "dev/block")}`, "is /sys mounted? is the drive still plugged in?");
  }
  const name = basename(dir);
  if (await exists(join(dir, "partition"))) {
    const disk = basename(dirname(dir));
    throw new UserError(path, `is a partition (${name}) of the disk ${disk}, not a whole disk`, `flash the whole disk: /dev/${disk} (everything on it is replaced)`);
  }
  const lbs = Number((await readText(join(dir, "queue/logical_block_size"))) ?? "512");
  if (lbs !== SECTOR_SIZE) throw new UserError(path, `has ${lbs}-byte logical sectors; a shimboot image is laid out for 512-byte sectors, which is what ChromeOS firmware reads`, "use another USB drive");
  if ((await readText(join(dir, "ro"))) === "1") throw new UserError(path, "is read-only", "is the drive's write-protect switch on?");
  const sectors = Number((await readText(join(dir, "size"))) ?? "0");
  const partitions: string[] = [];
  const devs = [devKey(dev)];
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    if (!(await exists(join(dir, entry, "partition")))) continue;
    partitions.push(entry);
    const d = await readText(join(dir, entry, "dev"));
    if (d) devs.push(d);
  }
  partitions.sort();
  const clean = (s: string | null) => (s ? s.replace(/\s+/g, " ").trim() || null : null);
  return {
    path,
    kind: "block",
    name,
    size: sectors * 512, // sysfs `size` always counts 512-byte units
    model: clean(await readText(join(dir, "device/model"))),
    vendor: clean(await readText(join(dir, "device/vendor"))),
    removable: (await readText(join(dir, "removable"))) === "1",
    usb: dir.includes("/usb"),
    partitions,
    devs,
    fileId: null,
  };
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

async function blockDevOf(path: string): Promise<string | null> {
  if (!path.startsWith("/dev/")) return null;
  try {
    const st = await stat(path, { bigint: true });
    return st.isBlockDevice() ? devKey(splitDev(st.rdev)) : null;
  } catch {
    return null;
  }
}

/** Why the disk cannot be written now (mounted, root, swap, held by dm/md), or null. */
export async function findInUse(t: Target, host: Host = REAL_HOST): Promise<string | null> {
  if (t.kind !== "block") return null;
  const devs = new Set(t.devs);
  const names = new Set([t.name, ...t.partitions].map((n) => `/dev/${n}`));
  /** a mount source or swap file naming the disk or a partition, by path or by device number */
  const ours = async (path: string) => names.has(path) || devs.has((await blockDevOf(path)) ?? "");
  const mounts: string[] = [];
  const info = (await readText(join(host.proc, "self/mountinfo"))) ?? "";
  for (const line of info.split("\n")) {
    const f = line.split(" ");
    const sep = f.indexOf("-");
    if (f.length < 5 || sep < 0) continue;
    const mountPoint = unescape(f[4]!);
    const source = unescape(f[sep + 2] ?? "");
    if (devs.has(f[2]!) || (await ours(source))) mounts.push(mountPoint);
  }
  if (mounts.includes("/")) return "holds the running system's root file system (/)";
  if (mounts.length) return `is mounted (${[...new Set(mounts)].join(", ")})`;
  const swaps = ((await readText(join(host.proc, "swaps"))) ?? "").split("\n").slice(1);
  for (const line of swaps) {
    const file = unescape(line.split(/\s+/)[0] ?? "");
    if (file && (await ours(file))) return `is in use as swap (${file})`;
  }
  const disk = await realpath(join(host.sys, "dev/block", t.devs[0]!));
  const holders: string[] = [];
  for (const d of [disk, ...t.partitions.map((p) => join(disk, p))]) holders.push(...(await readdir(join(d, "holders")).catch(() => [] as string[])));
  if (holders.length) return `is in use by ${holders.join(", ")} (device mapper, RAID, LVM or LUKS)`;
  return null;
}

export interface CheckOptions {
  forceNonRemovable: boolean;
  imageSize: number;
  imagePath: string;
  imageFileId: string;
}

/** Every refusal that depends on the target and the image, in the order a user fixes them. */
export async function checkTarget(t: Target, o: CheckOptions, host: Host = REAL_HOST): Promise<void> {
  if (t.kind === "file" && t.fileId === o.imageFileId) throw new UserError(t.path, "is the image itself", "pass the USB drive as DEVICE");
  if (t.kind === "block") {
    if (!t.removable && !t.usb && !o.forceNonRemovable) {
      throw new UserError(t.path, `is not a removable or USB drive (${describe(t)}): it may be an internal disk`, "check the name with `lsblk -o NAME,SIZE,MODEL,TRAN,RM`; if it really is the drive to erase (e.g. an SD card reader on an internal bus), pass --force-non-removable");
    }
    const busy = await findInUse(t, host);
    if (busy) throw new UserError(t.path, busy, "unmount every partition of the drive first (e.g. `udisksctl unmount -b /dev/sdb1`, or `sudo umount /dev/sdb1`), then retry");
  }
  if (t.size < o.imageSize) {
    throw new UserError(t.path, `is ${formatBytes(t.size)} (${t.size} bytes), smaller than the image ${o.imagePath} (${formatBytes(o.imageSize)}, ${o.imageSize} bytes)`, `use a drive of at least ${formatBytes(o.imageSize)}`);
  }
}

/** "SanDisk Ultra, 28.7 GiB, removable, USB" */
export function describe(t: Target): string {
  const parts = [[t.vendor, t.model].filter(Boolean).join(" ") || (t.kind === "file" ? "regular file" : "unknown model"), formatBytes(t.size)];
  if (t.kind === "block") {
    if (t.removable) parts.push("removable");
    if (t.usb) parts.push("USB");
    if (!t.removable && !t.usb) parts.push("fixed disk");
  }
  return parts.join(", ");
}
