// newc / crc cpio archives (the kernel's initramfs format, "070701"/"070702"),
// parsed into an in-memory tree that keeps everything the kernel would create:
// modes, owners, device numbers, symlink targets, hard links, mtimes. Where
// the kernel's unpacker (init/initramfs.c) reads an entry differently from
// its bytes, this parser reads it as the kernel does: see kernelSymlinkTarget
// and the entries the kernel skips.

export type EntryKind = "file" | "dir" | "symlink" | "char" | "block" | "fifo" | "socket";

export interface CpioEntry {
  /** path without leading "./" or "/"; "" is the root */
  path: string;
  kind: EntryKind;
  /** permission bits and setuid/setgid/sticky (mode & 0o7777) */
  perm: number;
  uid: number;
  gid: number;
  mtime: number;
  /** file data (empty for non-files) */
  data: Buffer;
  /** symlink target */
  target?: string;
  /** device major/minor for char and block devices */
  rdev?: { major: number; minor: number };
  /** the first path of the hard-link group this file belongs to, if not itself */
  hardlinkOf?: string;
  ino: number;
  nlink: number;
}

export class CpioError extends Error {}

const KIND: Record<number, EntryKind> = {
  0o100000: "file",
  0o040000: "dir",
  0o120000: "symlink",
  0o020000: "char",
  0o060000: "block",
  0o010000: "fifo",
  0o140000: "socket",
};

const align4 = (n: number) => (n + 3) & ~3;

/** The kernel's PATH_MAX: longer names and symlink targets are skipped by its unpacker. */
export const PATH_MAX = 4096;

/**
 * A symlink's target as the kernel creates it: do_symlink() NUL-terminates
 * the entry's data and passes it to symlink() as a C string, so the target
 * ends at the first NUL. kbuild's gen_init_cpio stores strlen + 1 bytes (a
 * trailing NUL), GNU cpio strlen: both give the same link. Returns null for
 * an empty target, which symlink() refuses (the kernel creates nothing).
 */
export function kernelSymlinkTarget(data: Buffer): string | null {
  const nul = data.indexOf(0);
  const target = (nul < 0 ? data : data.subarray(0, nul)).toString("utf8");
  return target === "" ? null : target;
}

/** The sum of the data bytes, as the "070702" (crc) format's check field holds it. */
function byteSum(data: Buffer): number {
  let sum = 0;
  for (const b of data) sum = (sum + b) >>> 0;
  return sum;
}

/** True when buf starts like a newc/crc cpio archive. */
export function looksLikeCpio(buf: Buffer, at = 0): boolean {
  const m = buf.toString("latin1", at, at + 6);
  return m === "070701" || m === "070702";
}

/**
 * Parses concatenated newc archives (the kernel accepts several, separated by
 * zero padding) until the data ends. Throws CpioError on anything malformed.
 * Returns entries in archive order, later duplicates replacing earlier ones.
 */
/**
 * Whether the kernel's unpacker makes this entry, given what the archive
 * made before it (init/initramfs.c, clean_path): an inode of another kind at
 * the name is removed first, but a directory only when it is empty; and
 * nothing is made below a name that is not a directory (a symlink there is
 * not followed here, where the kernel would follow it to a directory).
 */
function kernelWouldMake(made: Map<string, CpioEntry>, path: string, kind: CpioEntry["kind"]): boolean {
  const prev = made.get(path);
  if (prev?.kind === "dir" && kind !== "dir" && [...made.keys()].some((p) => p.startsWith(`${path}/`))) return false;
  for (let i = path.indexOf("/"); i > 0; i = path.indexOf("/", i + 1)) {
    const up = made.get(path.slice(0, i));
    if (up && up.kind !== "dir") return false;
  }
  return true;
}

export function parseCpio(buf: Buffer): { entries: CpioEntry[]; archives: number } {
  const byPath = new Map<string, CpioEntry>();
  // hard links: newc stores the data once, on the last entry of the group
  const groups = new Map<string, CpioEntry[]>();
  let pos = 0;
  let archives = 0;
  let sawTrailer = false;
  while (pos < buf.length) {
    if (buf[pos] === 0) {
      pos++;
      continue; // padding between archives
    }
    if (!looksLikeCpio(buf, pos)) {
      if (sawTrailer) break; // garbage after a complete archive is not ours
      throw new CpioError(`bad cpio header magic at offset ${pos}`);
    }
    if (pos + 110 > buf.length) throw new CpioError(`cpio header at ${pos} is truncated`);
    const pos0 = pos;
    const field = (i: number) => {
      const s = buf.toString("latin1", pos + 6 + i * 8, pos + 14 + i * 8);
      if (!/^[0-9a-fA-F]{8}$/.test(s)) throw new CpioError(`bad cpio header field at offset ${pos + 6 + i * 8}`);
      return parseInt(s, 16);
    };
    const ino = field(0);
    const mode = field(1);
    const uid = field(2);
    const gid = field(3);
    const nlink = field(4);
    const mtime = field(5);
    const filesize = field(6);
    const devmajor = field(7);
    const devminor = field(8);
    const rdevmajor = field(9);
    const rdevminor = field(10);
    const namesize = field(11);
    const check = field(12);
    if (namesize === 0 || namesize > PATH_MAX) throw new CpioError(`bad cpio name size ${namesize} at offset ${pos}`);
    const nameStart = pos + 110;
    const nameEnd = nameStart + namesize - 1;
    if (nameEnd + 1 > buf.length || buf[nameEnd] !== 0) throw new CpioError(`cpio name at offset ${nameStart} is not terminated`);
    // the kernel uses the name as a C string: an inner NUL ends it
    const nameNul = buf.indexOf(0, nameStart);
    const rawName = buf.toString("utf8", nameStart, nameNul);
    const dataStart = align4(nameEnd + 1);
    const dataEnd = dataStart + filesize;
    if (dataEnd > buf.length) throw new CpioError(`cpio entry ${rawName} is truncated`);
    pos = align4(dataEnd);
    if (rawName === "TRAILER!!!") {
      archives++;
      sawTrailer = true;
      continue;
    }
    sawTrailer = false;
    const kind = KIND[mode & 0o170000];
    if (!kind) throw new CpioError(`cpio entry ${rawName} has unknown file type ${(mode & 0o170000).toString(8)}`);
    const path = rawName.replace(/^(\.\/|\/)+/, "").replace(/\/+$/, "");
    if (path === ".") continue;
    if (path.split("/").includes("..")) throw new CpioError(`cpio entry ${rawName} escapes the archive root`);
    if (!kernelWouldMake(byPath, path, kind)) continue;
    const data = buf.subarray(dataStart, dataEnd);
    if (kind === "file" && buf.toString("latin1", pos0, pos0 + 6) === "070702" && byteSum(data) !== check) {
      throw new CpioError(`cpio entry ${rawName} fails its data checksum (the kernel stops unpacking there)`);
    }
    // do_header(): a symlink target longer than PATH_MAX, or data on anything
    // but a file or a symlink, makes the kernel skip the entry unread
    if (kind === "symlink" ? filesize > PATH_MAX : kind !== "file" && filesize > 0) continue;
    const entry: CpioEntry = { path, kind, perm: mode & 0o7777, uid, gid, mtime, data: kind === "file" ? data : Buffer.alloc(0), ino, nlink };
    if (kind === "symlink") {
      const target = kernelSymlinkTarget(data);
      // clean_path() has removed what was there, then symlink("") fails
      if (target === null) {
        byPath.delete(path);
        continue;
      }
      entry.target = target;
    }
    if (kind === "char" || kind === "block") entry.rdev = { major: rdevmajor, minor: rdevminor };
    if (kind === "file" && nlink > 1) {
      const key = `${devmajor}:${devminor}:${ino}`;
      const g = groups.get(key) ?? [];
      g.push(entry);
      groups.set(key, g);
    }
    byPath.delete(path);
    byPath.set(path, entry);
  }
  if (archives === 0) throw new CpioError("cpio archive has no TRAILER!!! (truncated)");
  for (const g of groups.values()) {
    const withData = g.find((e) => e.data.length > 0) ?? g[g.length - 1]!;
    const first = g[0]!;
    for (const e of g) {
      e.data = withData.data;
      if (e !== first) e.hardlinkOf = first.path;
    }
  }
  return { entries: [...byPath.values()], archives };
}
