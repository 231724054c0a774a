// A private working directory (mode 0700) for one command run, removed on
// exit, error or signal.
import { mkdtempSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeOnExit } from "./cleanup.js";

export interface WorkDir {
  path: string;
  dispose(): Promise<void>;
}

export async function makeWorkDir(prefix = "shimboot-"): Promise<WorkDir> {
  // mkdtemp creates 0700. Synchronously, and registered in the same step: a
  // Ctrl-C handled between an asynchronous mkdtemp and its registration
  // would leave the directory behind.
  const path = mkdtempSync(join(process.env.TMPDIR || tmpdir(), prefix));
  const release = removeOnExit(path);
  return {
    path,
    async dispose() {
      await rm(path, { recursive: true, force: true });
      release();
    },
  };
}
