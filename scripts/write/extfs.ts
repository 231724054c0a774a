// Making and editing ext2/ext4 file systems inside the image file, at their
// partition's offset: mke2fs -d fills one from a directory, debugfs -w adds
// device nodes, injected files and fixed owners and times. No mount, no root.
import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../lib/errors.js";
import { run } from "../lib/exec.js";
import type { Bytes } from "../lib/units.js";
import type { ExtFsPlan } from "../plan/plan.js";

/** e2fsprogs reads the fake time for every timestamp it creates itself. */
export function e2fsEnv(epoch: number): Record<string, string> {
  return { E2FSPROGS_FAKE_TIME: String(epoch), MKE2FS_CONFIG: "/dev/null", LC_ALL: "C" };
}

function spaceError(what: string, stderr: string): Error {
  if (/No space left on device|ENOSPC/i.test(stderr)) {
    return new UserError(what, "no space left on the device holding the output", "free some space or choose --out on another file system");
  }
  return new Error(`${what}: ${stderr.trim()}`);
}

/** mke2fs -t TYPE [-d DIR] -E offset=… into the image, exactly `bytes` long. */
export async function makeExtFs(image: string, offset: Bytes, bytes: Bytes, fs: ExtFsPlan, sourceDir: string | null, epoch: number): Promise<void> {
  const blocks = Math.floor(bytes / fs.blockSize);
  const args = [
    "-q", "-F",
    "-t", fs.type,
    "-b", fs.blockSize,
    "-O", ["none", ...fs.features].join(","),
    "-U", fs.uuid,
    "-L", fs.label,
    "-m", fs.reservedPercent,
    "-E", `offset=${offset},hash_seed=${fs.hashSeed},root_owner=0:0,lazy_itable_init=0,nodiscard`,
    ...(fs.inodes ? ["-N", fs.inodes] : []),
    ...(fs.type === "ext4" ? ["-I", 256] : []),
    ...(sourceDir ? ["-d", sourceDir] : []),
    image,
    blocks,
  ];
  const r = await run("mke2fs", args, { env: e2fsEnv(epoch) });
  if (r.exitCode !== 0) {
    if (/Could not allocate block|Could not allocate inode|No free space in the directory/.test(r.stderr)) {
      throw new Error(`planned ${fs.label} file system (${bytes} bytes) is too small for its content: ${r.stderr.trim()}`);
    }
    throw spaceError(`mke2fs ${fs.label}`, r.stderr);
  }
}

/** Quoting for debugfs's command parser: no way to escape a double quote. */
export function dq(path: string): string {
  if (/["\n]/.test(path)) throw new UserError(path, "file names with double quotes or newlines cannot be written by debugfs", "rename the file");
  return `"${path}"`;
}

/** Messages debugfs prints for steps that are already done. */
const BENIGN = [/^debugfs [\d.]+ \(/, /Ext2 directory already exists/, /^\s*$/];

/**
 * Runs debugfs -w commands (from a file in `work`) against the file system at
 * `offset`. The commands are written in chunks as they come (a 221k-entry
 * tree has 442k of them) and debugfs's echo of each is not kept.
 */
export async function debugfsWrite(image: string, offset: Bytes, commands: Iterable<string>, work: string, epoch: number, what: string): Promise<void> {
  const cmdFile = join(work, `debugfs-${Date.now()}-${Math.random().toString(36).slice(2)}.cmd`);
  if (!writeInChunks(cmdFile, commands)) return;
  const r = await run("debugfs", ["-w", "-f", cmdFile, `${image}?offset=${offset}`], { env: e2fsEnv(epoch), stdout: "ignore" });
  const problems = r.stderr.split("\n").filter((l) => !BENIGN.some((b) => b.test(l)));
  if (r.exitCode !== 0 || problems.length) throw spaceError(`debugfs on ${what}`, problems.join("\n") || r.stderr);
}

/** One line per command; false (and no file) when there is none. */
function writeInChunks(file: string, commands: Iterable<string>): boolean {
  let fd: number | null = null;
  let chunk: string[] = [];
  const flush = () => {
    fd ??= openSync(file, "w", 0o600);
    const bytes = Buffer.from(chunk.join("\n") + "\n");
    // a short write (the disk filling up) must not cut the commands off unseen
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
    chunk = [];
  };
  try {
    for (const c of commands) {
      chunk.push(c);
      if (chunk.length >= 4096) flush();
    }
    if (chunk.length) flush();
  } finally {
    if (fd !== null) closeSync(fd);
  }
  return fd !== null;
}

export interface InodeMeta {
  mode: number; // full st_mode including type bits
  uid: number;
  gid: number;
  mtime: number;
}

/**
 * set_inode_field commands that pin owner, mode and times: access and change
 * times become SOURCE_DATE_EPOCH (they record when the build ran); the
 * modification time is set only when given (a source's own mtime is content).
 */
export function fixupCommands(path: string, meta: Partial<InodeMeta>, epoch: number): string[] {
  const p = dq(path);
  const out: string[] = [];
  if (meta.mode !== undefined) out.push(`sif ${p} mode 0${meta.mode.toString(8)}`);
  if (meta.uid !== undefined) out.push(`sif ${p} uid ${meta.uid}`);
  if (meta.gid !== undefined) out.push(`sif ${p} gid ${meta.gid}`);
  // "@N": a bare number of 8 or 10 digits reads as a date (1701011200 → 1701-01-01 12:00)
  if (meta.mtime !== undefined) out.push(`sif ${p} mtime @${meta.mtime}`);
  out.push(`sif ${p} atime @${epoch}`, `sif ${p} ctime @${epoch}`);
  return out;
}
