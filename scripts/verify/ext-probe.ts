// What verify needs to know about an ext2/ext4 file system inside the image,
// beyond what read/extfs.ts gives (superblock, listings), read without
// mounting: a read-only full check (e2fsck -fn) and inode details of paths
// (debugfs stat). Both tools open `IMAGE?offset=BYTES`.
import { run } from "../lib/exec.js";
import { debugfsEach, type ExtFs } from "../read/extfs.js";

/** e2fsck -fn: a full, read-only check. `problems` holds its complaints. */
export async function fsck(fs: ExtFs): Promise<{ clean: boolean; problems: string }> {
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

/**
 * Stats many paths with one debugfs run. Intermediate symlinks are followed
 * (as ext2fs_namei does), the last component is not. Missing paths map to null.
 */
export async function statPaths(fs: ExtFs, paths: string[]): Promise<Map<string, PathStat | null>> {
  const out = new Map<string, PathStat | null>(paths.map((p) => [p, null]));
  if (paths.length === 0) return out;
  const outputs = await debugfsEach(fs, "stat", paths);
  if (!outputs) return out;
  for (const [path, body] of outputs) out.set(path, parseStat(body));
  // Slow symlinks (targets of 60 bytes and more) keep the target in a block.
  for (const [path, st] of out) {
    if (st?.kind === "symlink" && st.target === undefined) {
      const c = await run("debugfs", ["-R", `cat "${path}"`, fs.spec]);
      if (c.exitCode === 0) st.target = c.stdout.slice(0, st.size);
    }
  }
  return out;
}
