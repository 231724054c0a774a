// The --rootfs input: a directory (made into ext4 in place) or an ext4 image
// (what Nix builds). Only facts needed to plan: sizes, counts, identity.
import { createHash } from "node:crypto";
import { accessSync, constants, lstatSync, readdirSync, readlinkSync } from "node:fs";
import { open, stat } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../lib/errors.js";
import { run } from "../lib/exec.js";
import type { Bytes } from "../lib/units.js";
import { ImageFile } from "./image-file.js";
import { readSuperblock, type Superblock } from "./extfs.js";

async function superblockIdentity(path: string, size: number): Promise<string> {
  const fh = await open(path, "r");
  try {
    const sb = Buffer.alloc(1024);
    await fh.read(sb, 0, 1024, 1024); // the primary superblock
    return createHash("sha256").update(`${size}\0`).update(sb).digest("hex");
  } finally {
    await fh.close();
  }
}

/** One entry of a --rootfs directory, as the owner fixups after mke2fs -d need it. */
export interface RootfsDirEntry {
  /** path relative to the root, "/"-separated, no leading slash */
  path: string;
  /** the owner mke2fs -d copies into the file system */
  uid: number;
  gid: number;
}

/**
 * The tree's entries in walk order, compactly: a name and the index of its
 * parent directory each (full paths of a 221k-entry tree held 48 MiB of heap
 * and 73 MiB of RSS; this is a fraction of it). `rootfsEntries` gives their paths.
 */
export interface RootfsListing {
  names: string[];
  /** index of the entry's directory in `names`, -1 at the top */
  parents: number[];
  uids: number[];
  gids: number[];
}

/** The listing's entries with their paths, in walk order (parents first). */
export function* rootfsEntries(l: RootfsListing): Generator<RootfsDirEntry> {
  const dirs = new Set(l.parents);
  const dirPaths = new Map<number, string>(); // of directories only
  for (let i = 0; i < l.names.length; i++) {
    const parent = l.parents[i]!;
    const path = parent < 0 ? l.names[i]! : `${dirPaths.get(parent)}/${l.names[i]}`;
    if (dirs.has(i)) dirPaths.set(i, path);
    yield { path, uid: l.uids[i]!, gid: l.gids[i]! };
  }
}

export type RootfsInput =
  | {
      kind: "dir";
      path: string;
      /** bytes of file data, rounded up to 4 KiB blocks */
      dataBytes: Bytes;
      listing: RootfsListing;
      /** SHA-256 over the sorted listing (path, type, mode, size, mtime, link target) */
      identity: string;
      hasInit: boolean;
    }
  | {
      kind: "image";
      path: string;
      size: Bytes;
      blockSize: number;
      blockCount: number;
      freeBlocks: number;
      freeInodes: number;
      inodesPerGroup: number;
      blocksPerGroup: number;
      features: string[];
      label: string;
      /**
       * SHA-256 of the size and the superblock (UUID, counts, write time,
       * checksum): cheap, and enough to tell images apart for the derived
       * identifiers. The block hash is taken while the image is copied.
       */
      identity: string;
      hasInit: boolean;
    };

/**
 * The tree's listing, with synchronous calls: each asynchronous lstat is a
 * round trip through libuv's thread pool, and one after another they took
 * 21.3 s for a 221k-entry tree (a NixOS desktop closure's size) and 51 ms
 * for 235 entries; synchronously, 3.0 s and 14 ms.
 */
function walkDir(root: string) {
  const listing: RootfsListing = { names: [], parents: [], uids: [], gids: [] };
  const h = createHash("sha256");
  let dataBytes = 0;
  let hasInit = false;
  const walk = (rel: string, parent: number) => {
    const names = readdirSync(join(root, rel)).sort();
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = join(root, r);
      const st = lstatSync(abs);
      const kind = st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "other";
      const index = listing.names.push(name) - 1;
      listing.parents.push(parent);
      listing.uids.push(st.uid);
      listing.gids.push(st.gid);
      if (r === "sbin/init") hasInit = kind !== "dir";
      const target = kind === "symlink" ? readlinkSync(abs) : "";
      h.update(`${r}\0${kind}\0${st.mode}\0${st.size}\0${Math.floor(st.mtimeMs / 1000)}\0${target}\n`);
      if (kind === "file") {
        dataBytes += Math.ceil(st.size / 4096) * 4096;
        // mke2fs would stop halfway on an unreadable file: say which, now
        if (!readable(abs)) throw new UserError(abs, "--rootfs: this file is not readable by the current user", "fix its permissions, or build as a user who can read the whole tree");
      }
      if (kind === "dir") walk(r, index);
    }
  };
  walk("", -1);
  return { listing, hasInit, dataBytes: dataBytes as Bytes, identity: h.digest("hex") };
}

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** An image that is mounted, was not unmounted cleanly or has known errors is not copied. */
function checkUsable(path: string, sb: Superblock): void {
  if (sb.features.includes("needs_recovery") || sb.state.includes("not clean")) {
    throw new UserError(path, "--rootfs: the file system was not cleanly unmounted (it is in use, or its journal needs recovery)", "unmount it, or run e2fsck -f on it, then build again");
  }
  if (sb.state.includes("errors")) throw new UserError(path, "--rootfs: the file system is marked as having errors", "run e2fsck -f on it, then build again");
  if (sb.features.includes("orphan_present")) throw new UserError(path, "--rootfs: the file system has orphaned inodes to clean up", "run e2fsck -f on it, then build again");
  if (sb.externalJournal) throw new UserError(path, "--rootfs: the file system keeps its journal on another device", "make the image with an internal journal (mke2fs -t ext4 without -J device=)");
  if (sb.blockSize > 4096) throw new UserError(path, `--rootfs: the file system has ${sb.blockSize}-byte blocks; the shim's x86 and arm64 kernels mount blocks of at most 4096 bytes`, "make the image with mke2fs -b 4096 (or smaller)");
}

export async function readRootfsInput(path: string): Promise<RootfsInput> {
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new UserError(path, "--rootfs: no such file or directory", "pass a root file system directory or an ext4 image");
  }
  if (st.isDirectory()) {
    try {
      const w = walkDir(path);
      if (w.listing.names.length === 0) throw new UserError(path, "--rootfs: the directory is empty", "pass the root of a Linux file system (with /sbin/init)");
      return { kind: "dir", path, ...w };
    } catch (e) {
      if (e instanceof UserError) throw e;
      const err = e as NodeJS.ErrnoException;
      throw new UserError(err.path ?? path, `--rootfs: cannot read (${err.code ?? err.message})`, "make the whole tree readable by this user");
    }
  }
  const img = await ImageFile.open(path).catch((e: unknown) => {
    if (e instanceof UserError) throw new UserError(path, `--rootfs: ${e.message}`, e.hint);
    throw e;
  });
  await img.close();
  const sb = await readSuperblock({ spec: path, where: path });
  if (!sb) {
    throw new UserError(path, "--rootfs: not a directory and not an ext2/ext4 file system image", "pass a directory or the ext4 image that `nix build .#rootfs-<board>` makes");
  }
  const { blockSize, blockCount } = sb;
  if (blockSize * blockCount > st.size) {
    throw new UserError(path, `--rootfs: the ext4 image is truncated (file system is ${blockSize * blockCount} bytes, file has ${st.size})`, "build or copy the image again");
  }
  checkUsable(path, sb);
  const probe = await run("debugfs", ["-R", "stat /sbin/init", path]);
  return {
    kind: "image",
    path,
    size: st.size as Bytes,
    blockSize,
    blockCount,
    freeBlocks: sb.freeBlocks,
    freeInodes: sb.freeInodes,
    inodesPerGroup: sb.inodesPerGroup,
    blocksPerGroup: sb.blocksPerGroup,
    features: sb.features,
    label: sb.label,
    identity: await superblockIdentity(path, st.size),
    hasInit: probe.exitCode === 0 && !/File not found/.test(probe.stderr),
  };
}
