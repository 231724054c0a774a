// newc / crc cpio archives (the kernel's initramfs format, "070701"/"070702"),
// parsed into an in-memory tree that keeps everything the kernel would create:
// modes, owners, device numbers, symlink targets, hard links, mtimes.

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
    if (namesize === 0 || namesize > 4096) throw new CpioError(`bad cpio name size ${namesize} at offset ${pos}`);
    const nameStart = pos + 110;
    const nameEnd = nameStart + namesize - 1;
    if (nameEnd + 1 > buf.length || buf[nameEnd] !== 0) throw new CpioError(`cpio name at offset ${nameStart} is not terminated`);
    if (buf.indexOf(0, nameStart) < nameEnd) throw new CpioError(`cpio name at offset ${nameStart} holds a NUL byte`);
    const rawName = buf.toString("utf8", nameStart, nameEnd);
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
    const data = buf.subarray(dataStart, dataEnd);
    const entry: CpioEntry = { path, kind, perm: mode & 0o7777, uid, gid, mtime, data: kind === "file" ? data : Buffer.alloc(0), ino, nlink };
    if (kind === "symlink") entry.target = data.toString("utf8");
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
