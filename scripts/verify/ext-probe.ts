// What verify reads from an ext2/ext4 file system inside the image, without
// mounting: a read-only full check (e2fsck -fn), and in one debugfs run the
// superblock, the inodes of the paths the checks look at and the files they
// read. Both tools open `IMAGE?offset=BYTES`; every partition's are started
// at once and run side by side, the checks then read the results in order.
import { run } from "../lib/exec.js";
import { debugfsBatch, extFsAt, parseSuperblock, readSuperblock, type ExtFs, type Superblock } from "../read/extfs.js";
import type { Partition } from "../read/gpt.js";

export interface FsckResult {
  clean: boolean;
  problems: string;
}

/** e2fsck -fn: a full, read-only check. `problems` holds its complaints. */
export async function fsck(fs: ExtFs): Promise<FsckResult> {
  const r = await run("e2fsck", ["-fn", fs.spec]);
  if (r.exitCode === 0) return { clean: true, problems: "" };
  const lines = `${r.stdout}\n${r.stderr}`
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !/^Pass \d|^e2fsck \d|^Fix\? no$|^Clear\? no$|^Ignore error\? no$|files \(.*non-contiguous\)/.test(l));
  return { clean: false, problems: `e2fsck exit ${r.exitCode}: ${lines.slice(0, 4).join("; ")}${lines.length > 4 ? "; …" : ""}` };
}

export type InodeKind = "file" | "dir" | "symlink" | "char" | "block" | "fifo" | "socket" | "unknown";

export interface PathStat {
  kind: InodeKind;
  /** permission bits (07777) */
  perm: number;
  size: number;
  /** symlink target (fast links; slow ones are read with cat) */
  target?: string;
  /** device numbers of char/block nodes */
  device?: { major: number; minor: number };
}

const kinds: Record<string, InodeKind> = {
  regular: "file",
  directory: "dir",
  symlink: "symlink",
  "character special": "char",
  "block special": "block",
  FIFO: "fifo",
  socket: "socket",
};

function parseStat(text: string): PathStat | null {
  const head = /Type: (.+?)\s+Mode:\s+0?([0-7]+)/.exec(text);
  if (!head) return null;
  const stat: PathStat = {
    kind: kinds[head[1]!] ?? "unknown",
    perm: parseInt(head[2]!, 8) & 0o7777,
    size: Number(/\bSize: (\d+)/.exec(text)?.[1] ?? 0),
  };
  const link = /Fast link dest: "(.*)"/.exec(text);
  if (link) stat.target = link[1]!;
  const dev = /Device major\/minor number: (\d+):(\d+)/.exec(text);
  if (dev) stat.device = { major: Number(dev[1]), minor: Number(dev[2]) };
  return stat;
}

/** Slow symlinks (targets of 60 bytes and more) keep the target in a block: read it. */
async function slowLinkTargets(fs: ExtFs, stats: Map<string, PathStat | null>) {
  for (const [path, st] of stats) {
    if (st?.kind === "symlink" && st.target === undefined) {
      const c = await run("debugfs", ["-R", `cat "${path}"`, fs.spec]);
      if (c.exitCode === 0) st.target = c.stdout.slice(0, st.size);
    }
  }
}

export interface ExtInspection {
  /** null when there is no ext2/3/4 superblock there */
  superblock: Superblock | null;
  /** path → inode facts (intermediate symlinks followed, the last not), null when missing */
  stats: Map<string, PathStat | null>;
  /** path → content, null when the file system could not be read */
  files: Map<string, string | null>;
}

/**
 * One partition's probes, each run once however often it is asked for:
 * e2fsck, and one debugfs run per set of paths. verify asks for them all
 * first, so that they run side by side, then the checks ask again in order.
 */
export interface ExtProbe {
  fs: ExtFs;
  fsck(): Promise<FsckResult>;
  inspect(paths: string[], files?: string[]): Promise<ExtInspection>;
}

/** A promise that may go unawaited (a check that stops early) without an unhandled rejection. */
function started<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

async function inspect(fs: ExtFs, paths: string[], files: string[]): Promise<ExtInspection> {
  // cat last: a file without a final newline would run into the next command's echo
  const out = await debugfsBatch(fs, ["stats -h", ...paths.map((p) => `stat "${p}"`), ...files.map((f) => `cat "${f}"`)]);
  const stats = new Map<string, PathStat | null>(paths.map((p, i) => [p, out ? parseStat(out[1 + i]!) : null]));
  await slowLinkTargets(fs, stats);
  return {
    // debugfs -c reads a superblock where a plain open fails (damaged group descriptors)
    superblock: (out && parseSuperblock(out[0]!)) ?? (await readSuperblock(fs)),
    stats,
    files: new Map(files.map((f, i) => [f, out ? out[1 + paths.length + i]! : null])),
  };
}

/** Probes of the image's partitions, one per partition, made on first use. */
export function extProbes(imagePath: string): (p: Partition) => ExtProbe {
  const made = new Map<number, ExtProbe>();
  return (p) => {
    const hit = made.get(p.index);
    if (hit) return hit;
    const fs = extFsAt(imagePath, p.start, `${imagePath} partition ${p.index}`);
    let check: Promise<FsckResult> | null = null;
    const inspections = new Map<string, Promise<ExtInspection>>();
    const probe: ExtProbe = {
      fs,
      fsck: () => (check ??= started(fsck(fs))),
      inspect: (paths, files = []) => {
        const key = JSON.stringify([paths, files]);
        let i = inspections.get(key);
        if (!i) inspections.set(key, (i = started(inspect(fs, paths, files))));
        return i;
      },
    };
    made.set(p.index, probe);
    return probe;
  };
}
