// ext2/ext4 file systems inside a disk image, read without mounting through
// e2fsprogs' debugfs, which opens `FILE?offset=BYTES` (unix_io's offset option).
import { UserError } from "../lib/errors.js";
import { run } from "../lib/exec.js";
import { toBytes, type Sectors } from "../lib/units.js";

export interface ExtFs {
  /** what debugfs opens */
  spec: string;
  /** human name in errors, e.g. "shim.bin partition 3 (ROOT-A)" */
  where: string;
}

export function extFsAt(imagePath: string, start: Sectors, where: string): ExtFs {
  return { spec: `${imagePath}?offset=${toBytes(start)}`, where };
}

export interface DirEntry {
  name: string;
  inode: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  kind: "file" | "dir" | "symlink" | "other";
}

/** debugfs's words when it cannot open the file system at all (it still exits 0 with -R). */
const NOT_OPENED = /while trying to open|Filesystem not open|Bad magic number|Could not open|Superblock checksum/;

/** More than any file shimboot reads out of a file system (lsb-release, the manifest) ever holds. */
const MAX_FILE_BYTES = 16 * 2 ** 20;

/** debugfs with its output bounded: a damaged file system can make it print without end. */
async function boundedDebugfs(fs: ExtFs, what: string, args: string[], input?: string) {
  const r = await run("debugfs", [...args, fs.spec], { input, maxStdout: MAX_FILE_BYTES });
  if (r.stdout.length > MAX_FILE_BYTES) throw new UserError(fs.where, `${what}: prints more than ${MAX_FILE_BYTES / 2 ** 20} MiB; the file system is damaged`, "fetch the image again");
  return r;
}

async function debugfs(fs: ExtFs, request: string) {
  const r = await boundedDebugfs(fs, request, ["-R", request]);
  const stderr = r.stderr.replace(/^debugfs [\d.]+ \([^)]*\)\n?/m, "").trim();
  if (r.exitCode !== 0 || NOT_OPENED.test(stderr)) {
    throw new UserError(fs.where, "is not a readable ext2/ext4 file system", "the partition is damaged or was not formatted");
  }
  return { stdout: r.stdout, stderr, notFound: /File not found by ext2_lookup/.test(stderr) };
}

/** `ls -p` output: one entry a line, `/inode/mode/uid/gid/name/size/`. */
export function parseLs(text: string): DirEntry[] {
  const out: DirEntry[] = [];
  for (const line of text.split("\n")) {
    // /inode/mode/uid/gid/name/size/
    const m = /^\/(\d+)\/(\d+)\/(\d+)\/(\d+)\/(.*)\/(\d*)\/$/.exec(line);
    if (!m) continue;
    const name = m[5]!;
    if (name === "." || name === "..") continue;
    const mode = parseInt(m[2]!, 8);
    const fmt = mode & 0o170000;
    out.push({
      name,
      inode: Number(m[1]),
      mode,
      uid: Number(m[3]),
      gid: Number(m[4]),
      size: Number(m[6] || 0),
      kind: fmt === 0o100000 ? "file" : fmt === 0o040000 ? "dir" : fmt === 0o120000 ? "symlink" : "other",
    });
  }
  return out;
}

/** A directory's entries (without . and ..), or null when the path does not exist. */
export async function listDir(fs: ExtFs, path: string): Promise<DirEntry[] | null> {
  return (await listDirs(fs, [path])).get(path) ?? null;
}

/**
 * Runs many debugfs commands in one process (on stdin; debugfs echoes each
 * as `debugfs: CMD` before its output) and gives each command's output, in
 * order: "" when it printed nothing (e.g. a path not found). null when the
 * file system could not be opened at all. A command whose output may lack a
 * final newline (cat) goes last.
 */
export async function debugfsBatch(fs: ExtFs, commands: string[]): Promise<string[] | null> {
  if (commands.length === 0) return [];
  const r = await boundedDebugfs(fs, "debugfs", ["-f", "-"], commands.map((c) => `${c}\n`).join(""));
  if (r.exitCode !== 0 || NOT_OPENED.test(r.stderr)) return null;
  const out: string[] = [];
  let at = r.stdout.indexOf(`debugfs: ${commands[0]}\n`);
  if (at < 0) return null;
  for (let i = 0; i < commands.length; i++) {
    const start = at + `debugfs: ${commands[i]}\n`.length;
    const next = i + 1 < commands.length ? r.stdout.indexOf(`debugfs: ${commands[i + 1]}\n`, start) : r.stdout.length;
    if (next < 0) return null;
    out.push(r.stdout.slice(start, next));
    at = next;
  }
  return out;
}

/** `VERB "PATH"` for many paths in one debugfs process: each path's output, or null as debugfsBatch. */
export async function debugfsEach(fs: ExtFs, verb: string, paths: string[]): Promise<Map<string, string> | null> {
  const outputs = await debugfsBatch(fs, paths.map((p) => `${verb} "${p}"`));
  return outputs && new Map(paths.map((p, i) => [p, outputs[i]!]));
}

/** Lists many directories with one debugfs process. Missing ones are absent. */
export async function listDirs(fs: ExtFs, paths: string[]): Promise<Map<string, DirEntry[]>> {
  const outputs = await debugfsEach(fs, "ls -p", paths);
  if (!outputs) throw new UserError(fs.where, "is not a readable ext2/ext4 file system", "the partition is damaged or was not formatted");
  const result = new Map<string, DirEntry[]>();
  for (const [path, body] of outputs) {
    if (body.trim() !== "") result.set(path, parseLs(body)); // empty: not found
  }
  return result;
}

/** Superblock flags dumpe2fs lists among the features that are state, not format. */
export const STATE_FLAGS = ["needs_recovery", "orphan_present"];

export interface Superblock {
  features: string[];
  blockCount: number;
  blockSize: number;
  freeBlocks: number;
  label: string;
  state: string;
  freeInodes: number;
  inodesPerGroup: number;
  blocksPerGroup: number;
  /** an external journal (the file system alone cannot be mounted) */
  externalJournal: boolean;
}

/**
 * The superblock (debugfs `stats -h`), or null when there is no ext2/3/4
 * file system there. Not dumpe2fs: from 1.47.2 on it refuses a `?offset=`
 * spec ("Unable to resolve '-h'"), which debugfs, e2fsck and tune2fs take.
 */
export async function readSuperblock(fs: ExtFs): Promise<Superblock | null> {
  // -c (catastrophic mode): no bitmaps read, so damaged group descriptors still show the superblock
  const r = await boundedDebugfs(fs, "stats -h", ["-c", "-R", "stats -h"]);
  if (r.exitCode !== 0 || NOT_OPENED.test(r.stderr)) return null;
  return parseSuperblock(r.stdout);
}

/** dumpe2fs -h's (and debugfs `stats -h`'s) listing of a superblock; null when it is not one. */
export function parseSuperblock(text: string): Superblock | null {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "m").exec(text)?.[1]?.trim();
  const features = field("Filesystem features");
  const blockCount = Number(field("Block count"));
  const blockSize = Number(field("Block size"));
  if (features === undefined || !Number.isFinite(blockCount) || !Number.isFinite(blockSize)) return null;
  return {
    features: features === "(none)" ? [] : features.split(/\s+/).filter(Boolean),
    blockCount,
    blockSize,
    freeBlocks: Number(field("Free blocks") ?? 0),
    label: (field("Filesystem volume name") ?? "").replace(/^<none>$/, ""),
    state: field("Filesystem state") ?? "unknown",
    freeInodes: Number(field("Free inodes") ?? 0),
    inodesPerGroup: Number(field("Inodes per group") ?? 0),
    blocksPerGroup: Number(field("Blocks per group") ?? 0),
    externalJournal: field("Journal device") !== undefined || field("Journal UUID") !== undefined,
  };
}

/** More entries than any ChromeOS root file system holds: a damaged one can list without end. */
const MAX_WALK_ENTRIES = 2_000_000;

/** Every path under `root` (files, symlinks, dirs), walking one level per debugfs run. */
export async function walkTree(fs: ExtFs, root: string): Promise<{ path: string; entry: DirEntry }[] | null> {
  const top = await listDir(fs, root);
  if (!top) return null;
  const all: { path: string; entry: DirEntry }[] = [];
  // a damaged directory can link back to an ancestor: each directory inode is entered once
  const entered = new Set<number>();
  let level = top.map((entry) => ({ path: `${root}/${entry.name}`, entry }));
  while (level.length) {
    all.push(...level);
    if (all.length > MAX_WALK_ENTRIES) throw new UserError(fs.where, `lists more than ${MAX_WALK_ENTRIES} entries under ${root}: the file system is damaged`, "fetch the image again");
    const dirs = level.filter((e) => e.entry.kind === "dir" && !entered.has(e.entry.inode) && entered.add(e.entry.inode)).map((e) => e.path);
    const listed = await listDirs(fs, dirs);
    level = dirs.flatMap((d) => (listed.get(d) ?? []).map((entry) => ({ path: `${d}/${entry.name}`, entry })));
  }
  return all;
}

/** A file's content, or null when it does not exist. */
export async function readExtFile(fs: ExtFs, path: string): Promise<string | null> {
  const r = await debugfs(fs, `cat "${path}"`);
  if (r.notFound) return null;
  return r.stdout;
}

/**
 * Copies several trees out of one file system with one debugfs process, each
 * `[path, destDir]`; the paths must exist (listDirs first). A quote or a
 * control character in a path is refused: the commands go to debugfs one a
 * line, and a name must never become a second command.
 */
export async function dumpTrees(fs: ExtFs, trees: [string, string][]): Promise<void> {
  if (!trees.length) return;
  const unsafe = (p: string) => /["\x00-\x1f\x7f]/.test(p);
  const badDest = trees.find(([, d]) => unsafe(d))?.[1];
  if (badDest !== undefined) throw new UserError(badDest, "the working directory's path holds a quote or a control character, which debugfs commands cannot carry", "set TMPDIR to a plain path");
  const bad = trees.find(([p]) => unsafe(p))?.[0];
  if (bad !== undefined) throw new UserError(fs.where, `has a path shimboot will not pass to debugfs: ${JSON.stringify(bad)}`, "the image is damaged or not a ChromeOS image");
  const r = await boundedDebugfs(fs, "rdump", ["-f", "-"], trees.map(([p, d]) => `rdump "${p}" "${d}"\n`).join(""));
  const stderr = r.stderr.replace(/^debugfs [\d.]+ \([^)]*\)\n?/m, "");
  if (r.exitCode !== 0 || NOT_OPENED.test(stderr)) throw new UserError(fs.where, "is not a readable ext2/ext4 file system", "the partition is damaged or was not formatted");
  // what debugfs cannot copy out of the input is damage in the input (owners are kept only as root)
  const problems = stderr.split("\n").filter((l) => l.trim() && !/while changing ownership/.test(l));
  if (problems.length) throw new UserError(fs.where, `cannot be read: debugfs rdump ${trees.map(([p]) => p).join(", ")}: ${problems.join("; ")}`, "the file system is damaged; fetch the image again");
}
