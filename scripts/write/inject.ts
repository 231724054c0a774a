// Adding files to an existing ext4 file system (drivers, Wi-Fi connections)
// with debugfs: directories created as needed, existing files replaced,
// owner root:root and times pinned.
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { listDirs, type ExtFs } from "../read/extfs.js";
import { dq, fixupCommands } from "./extfs.js";

export interface InjectItem {
  /** absolute path inside the file system */
  dest: string;
  /** file on the host to copy in (regular files) */
  source?: string;
  /** symlink target */
  target?: string;
  dir?: boolean;
  mode: number; // permission bits
}

/** Items for every entry under a host directory, placed under `destRoot`. */
export async function itemsFromTree(hostDir: string, destRoot: string): Promise<InjectItem[]> {
  const items: InjectItem[] = [];
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(hostDir, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const full = join(hostDir, r);
      const st = await lstat(full);
      const dest = `${destRoot}/${r}`;
      if (st.isDirectory()) {
        items.push({ dest, dir: true, mode: 0o755 });
        await walk(r);
      } else if (st.isSymbolicLink()) items.push({ dest, target: await readlink(full), mode: 0o777 });
      else if (st.isFile()) items.push({ dest, source: full, mode: st.mode & 0o777 });
    }
  };
  await walk("");
  return items;
}

function parentsOf(path: string): string[] {
  const parts = path.split("/").filter(Boolean);
  return parts.slice(0, -1).map((_, i) => "/" + parts.slice(0, i + 1).join("/"));
}

/**
 * debugfs commands that add `items`. Existing non-directories at a
 * destination are removed first (looked up in one debugfs run).
 */
export async function injectCommands(fs: ExtFs, items: InjectItem[], epoch: number): Promise<string[]> {
  const dirs = new Set<string>();
  for (const it of items) {
    for (const p of parentsOf(it.dest)) dirs.add(p);
    if (it.dir) dirs.add(it.dest);
  }
  const listed = await listDirs(fs, [...dirs].sort());
  const exists = new Map<string, "dir" | "other">();
  for (const [d, entries] of listed) {
    exists.set(d, "dir");
    for (const e of entries) exists.set(`${d === "/" ? "" : d}/${e.name}`, e.kind === "dir" ? "dir" : "other");
  }
  const cmds: string[] = [];
  for (const d of [...dirs].sort()) {
    if (exists.get(d) !== "dir") cmds.push(`mkdir ${dq(d)}`);
  }
  for (const it of items) {
    if (it.dir) continue;
    if (exists.get(it.dest) === "other") cmds.push(`rm ${dq(it.dest)}`);
    if (it.source) cmds.push(`write ${dq(it.source)} ${dq(it.dest)}`);
    else cmds.push(`symlink ${dq(it.dest)} ${dq(it.target ?? "")}`);
  }
  for (const d of [...dirs].sort()) {
    if (exists.get(d) !== "dir") cmds.push(...fixupCommands(d, { mode: 0o040755, uid: 0, gid: 0, mtime: epoch }, epoch));
  }
  for (const it of items) {
    if (it.dir) continue;
    cmds.push(...fixupCommands(it.dest, it.source ? { mode: 0o100000 | it.mode, uid: 0, gid: 0, mtime: epoch } : { uid: 0, gid: 0, mtime: epoch }, epoch));
  }
  return cmds;
}
