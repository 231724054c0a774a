// How big a file system must be to hold its content: pure arithmetic, with
// margins stated once here.
import { MiB, alignUp, type Bytes } from "../lib/units.js";

export const INODE_SIZE = 256;

export interface Content {
  /** file data, each file rounded up to the block size */
  dataBytes: number;
  /** files, directories, links: one inode each */
  entries: number;
}

/** mke2fs's default journal for a file system of this many bytes (4 KiB blocks). */
export function journalBytes(fsBytes: number): number {
  const blocks = fsBytes / 4096;
  if (blocks < 2048) return 0;
  if (blocks < 32768) return 4 * MiB;
  if (blocks < 256 * 1024) return 16 * MiB;
  if (blocks < 512 * 1024) return 32 * MiB;
  if (blocks < 4096 * 1024) return 64 * MiB;
  return 128 * MiB;
}

/** Inodes to ask mke2fs for: every entry plus room to grow. */
export function inodeCount(c: Content, extraEntries = 0): number {
  return Math.ceil((c.entries + extraEntries) * 1.25) + 2048;
}

/**
 * Bytes for an ext file system holding `c`, plus `free` bytes of free space:
 * data, inode tables, directory blocks (one per 4096/32 entries, at least one
 * per directory is already in dataBytes), group metadata (~3%), journal, and
 * a 10% margin because mke2fs -d fails outright when it runs out.
 */
export function extFsBytes(c: Content, opts: { journal: boolean; free: number; minimum: number }): Bytes {
  const inodes = inodeCount(c) * INODE_SIZE;
  const dirBlocks = Math.ceil(c.entries / 64) * 4096;
  const base = c.dataBytes + inodes + dirBlocks;
  let total = base * 1.13 + 2 * MiB + opts.free;
  if (opts.journal) total += journalBytes(total);
  return alignUp(Math.max(total, opts.minimum), MiB) as Bytes;
}
