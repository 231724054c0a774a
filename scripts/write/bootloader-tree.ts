// Partition 3: the shim's own initramfs tree (modes, owners, device nodes,
// links exactly as in its cpio) with shimboot's bootloader in place of
// bin/init and bin/bootstrap.sh, its configuration and the build manifest.
// Synchronous file calls: one after another, each asynchronous call is a round
// trip through libuv's thread pool, and a shim's initramfs has hundreds of entries.
import { chmodSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { CpioEntry } from "../read/cpio.js";
import type { Content } from "../plan/sizes.js";
import { fixupCommands, dq, type InodeMeta } from "./extfs.js";

const TYPE_BITS = { file: 0o100000, dir: 0o040000, symlink: 0o120000, char: 0o020000, block: 0o060000, fifo: 0o010000, socket: 0o140000 } as const;

export interface TreeFile {
  path: string;
  content: string | Buffer;
  mode: number; // permission bits
}

export interface BootloaderTree {
  /** staging directory to hand to mke2fs -d */
  dir: string;
  /** debugfs commands to run after mke2fs: device nodes, owners, modes, times */
  fixups: string[];
  content: Content;
}

function* walkFiles(root: string, rel = ""): Generator<string> {
  for (const name of readdirSync(join(root, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const st = lstatSync(join(root, r));
    if (st.isDirectory()) yield* walkFiles(root, r);
    else if (st.isFile()) yield r;
  }
}

/** The bootloader's files as they ship (scripts/bootloader/{bin,lib}), mapped to tree paths. */
export async function bootloaderFiles(sourceDir: string): Promise<TreeFile[]> {
  const out: TreeFile[] = [];
  for (const top of ["bin", "lib"]) {
    for (const rel of walkFiles(join(sourceDir, top))) {
      const path = `${top}/${rel}`;
      const st = lstatSync(join(sourceDir, path));
      // bin/ holds programs whatever the checkout did to their modes
      out.push({ path, content: readFileSync(join(sourceDir, path)), mode: top === "bin" || st.mode & 0o111 ? 0o755 : 0o644 });
    }
  }
  return out;
}

/** Size of the tree, for the plan (no bytes written). */
export function bootloaderContent(entries: CpioEntry[], overlay: TreeFile[]): Content {
  const replaced = new Set(overlay.map((f) => f.path));
  let dataBytes = 0;
  for (const e of entries) if (e.kind === "file" && !e.hardlinkOf && !replaced.has(e.path)) dataBytes += Math.ceil(e.data.length / 4096) * 4096;
  for (const f of overlay) dataBytes += Math.ceil(Buffer.byteLength(f.content) / 4096) * 4096;
  return { dataBytes, entries: entries.length + overlay.length + 8 };
}

/**
 * Writes the tree into `dir`. Device nodes, fifos and sockets cannot be made
 * without privilege, so they become debugfs mknod commands instead.
 */
export async function stageBootloaderTree(dir: string, entries: CpioEntry[], overlay: TreeFile[], epoch: number): Promise<BootloaderTree> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const meta = new Map<string, InodeMeta>();
  const specials: string[] = [];
  const replaced = new Set(overlay.map((f) => f.path));
  let dataBytes = 0;
  const parents = (p: string) => mkdirSync(dirname(join(dir, p)), { recursive: true });
  for (const e of entries) {
    if (replaced.has(e.path)) continue;
    const full = join(dir, e.path);
    const m: InodeMeta = { mode: TYPE_BITS[e.kind] | e.perm, uid: e.uid, gid: e.gid, mtime: e.mtime };
    switch (e.kind) {
      case "dir":
        mkdirSync(full, { recursive: true });
        break;
      case "file":
        parents(e.path);
        if (e.hardlinkOf && meta.has(e.hardlinkOf)) linkSync(join(dir, e.hardlinkOf), full);
        else {
          writeFileSync(full, e.data);
          dataBytes += Math.ceil(e.data.length / 4096) * 4096;
        }
        break;
      case "symlink":
        parents(e.path);
        symlinkSync(e.target ?? "", full);
        break;
      default: {
        parents(e.path);
        const kind = e.kind === "char" ? `c ${e.rdev!.major} ${e.rdev!.minor}` : e.kind === "block" ? `b ${e.rdev!.major} ${e.rdev!.minor}` : "p";
        if (e.kind === "socket") continue; // sockets are runtime objects: the kernel ignores them in an initramfs too
        // debugfs's mknod takes a bare name in the current directory
        specials.push(`cd ${dq("/" + dirname(e.path))}`, `mknod ${dq(basename(e.path))} ${kind}`, "cd /");
      }
    }
    meta.set(e.path, m);
  }
  for (const f of overlay) {
    const full = join(dir, f.path);
    parents(f.path);
    rmSync(full, { force: true });
    writeFileSync(full, f.content);
    chmodSync(full, f.mode);
    dataBytes += Math.ceil(Buffer.byteLength(f.content) / 4096) * 4096;
    meta.set(f.path, { mode: TYPE_BITS.file | f.mode, uid: 0, gid: 0, mtime: epoch });
  }
  // directories the overlay created
  for (const f of overlay) {
    for (let d = dirname(f.path); d !== "."; d = dirname(d)) {
      if (!meta.has(d)) meta.set(d, { mode: TYPE_BITS.dir | 0o755, uid: 0, gid: 0, mtime: epoch });
    }
  }
  const fixups = [...specials];
  for (const [path, m] of [...meta.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    // a symlink's mode bits are ignored by the kernel; keep what mke2fs made
    fixups.push(...fixupCommands("/" + path, m.mode >>> 12 === 0o12 ? { uid: m.uid, gid: m.gid, mtime: m.mtime } : m, epoch));
  }
  fixups.push(...fixupCommands("/", { mode: TYPE_BITS.dir | 0o755, uid: 0, gid: 0, mtime: epoch }, epoch), ...fixupCommands("/lost+found", { uid: 0, gid: 0, mtime: epoch }, epoch));
  return { dir, fixups, content: { dataBytes, entries: meta.size + 2 } };
}

/** /etc/shimboot/bootloader.conf (format: scripts/bootloader/README.md). */
export function bootloaderConf(timeout: number, defaultEntry: string): string {
  return `# written by shimboot build\nSHIMBOOT_TIMEOUT=${timeout}\nSHIMBOOT_DEFAULT="${defaultEntry}"\n`;
}
