// A private working directory (mode 0700) for one command run, removed on
// exit, error or signal.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeOnExit } from "./cleanup.js";
import { UserError } from "./errors.js";

export interface WorkDir {
  path: string;
  dispose(): Promise<void>;
}

/**
 * A new directory (mode 0700, as mkdtemp makes it) in TMPDIR, registered for
 * removal on exit. Synchronously, and registered in the same step: a Ctrl-C
 * handled between an asynchronous mkdtemp and its registration would leave
 * the directory behind.
 */
export function makePrivateDirSync(prefix: string): { path: string; release: () => void } {
  const parent = process.env.TMPDIR || tmpdir();
  let path: string;
  try {
    path = mkdtempSync(join(parent, prefix));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new UserError(`${parent} (TMPDIR)`, `cannot make a private working directory there (${code})`, "set TMPDIR to a writable directory, or unset it to use /tmp");
  }
  return { path, release: removeOnExit(path) };
}

export async function makeWorkDir(prefix = "shimboot-"): Promise<WorkDir> {
  const { path, release } = makePrivateDirSync(prefix);
  return {
    path,
    async dispose() {
      // synchronously: an asynchronous rm of a tree is a thread-pool round trip per entry
      rmSync(path, { recursive: true, force: true });
      release();
    },
  };
}
