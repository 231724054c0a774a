// The output file: checked before anything is read, the disk space checked
// once the plan knows the size, and the image written to a temporary file
// beside it, verified, then renamed into place. Nothing is left behind on
// failure or Ctrl-C, and an existing --out is replaced only by a verified image.
import { access, chmod, constants, open, rename, rm, stat, statfs } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { removeOnExit } from "../lib/cleanup.js";
import { UserError } from "../lib/errors.js";
import { allSteps } from "../lib/parallel.js";
import { formatBytes, type Bytes } from "../lib/units.js";

/** The directory --out goes in, once it is known to be writable and --out free (or --force). */
export async function checkOutput(out: string, force: boolean): Promise<string> {
  const dir = dirname(resolve(out));
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new UserError(out, `--out: ${dir} is not a directory`, "choose an output path in an existing directory");
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(out, `--out: the directory ${dir} does not exist`, "create it first or choose another --out");
  }
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw new UserError(out, `--out: the directory ${dir} is not writable`, "choose an output path you can write to");
  }
  const existing = await stat(out).catch(() => null);
  if (existing?.isDirectory()) throw new UserError(out, "--out is a directory", "give a file name, e.g. shimboot-nixos.bin");
  if (existing && !force) throw new UserError(out, "--out already exists", "pass --force to replace it (it is replaced only after the new image is verified)");
  return dir;
}

export async function checkDiskSpace(out: string, outDir: string, needed: Bytes): Promise<void> {
  const free = await statfs(outDir);
  const available = free.bavail * free.bsize;
  if (available < needed) {
    throw new UserError(out, `not enough disk space: the image needs about ${formatBytes(needed)}, ${outDir} has ${formatBytes(available)} free`, "free some space or choose --out on another file system");
  }
}

/** The temporary file beside `out` the image is written to; removed on failure, exit or signal. */
export interface TempImage {
  path: string;
  /** removes it, unless it was renamed into place */
  discard(): Promise<void>;
  /** it became `out`: nothing to remove any more */
  renamed(): void;
}

export function reserveTemp(out: string, outDir: string): TempImage {
  const path = join(outDir, `.${basename(out)}.partial-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  const forget = removeOnExit(path);
  let settled = false;
  return {
    path,
    async discard() {
      if (settled) return;
      settled = true;
      await rm(path, { force: true });
      forget();
    },
    renamed() {
      settled = true;
      forget();
    },
  };
}

/**
 * Runs `write` then `verify` on the temporary file (owner-only while it is
 * written); renames it to `out` with `mode` only if both succeed and it is
 * on the disk. The fsync runs while verify reads it (both see the same page
 * cache), not before verify starts.
 */
export async function writeVerifiedThenRename(out: string, tmp: TempImage, mode: number, write: (tmp: string) => Promise<void>, verify: (tmp: string) => Promise<void>): Promise<void> {
  try {
    await write(tmp.path);
    await allSteps([verify(tmp.path), fsyncFile(tmp.path)]);
    await chmod(tmp.path, mode); // stated, not the umask's
    await rename(tmp.path, out);
    tmp.renamed();
  } catch (e) {
    await tmp.discard();
    throw e;
  }
}

/** The file's data and size on the disk before it is renamed into place. */
async function fsyncFile(path: string): Promise<void> {
  const f = await open(path, "r+");
  try {
    await f.sync();
  } finally {
    await f.close();
  }
}
