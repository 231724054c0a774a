// A private working directory (mode 0700) for one command run, removed on
// exit, error or signal.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeOnExit } from "./cleanup.js";

export interface WorkDir {
  path: string;
  dispose(): Promise<void>;
}

export async function makeWorkDir(prefix = "shimboot-"): Promise<WorkDir> {
  const path = await mkdtemp(join(process.env.TMPDIR || tmpdir(), prefix)); // mkdtemp creates 0700
  const release = removeOnExit(path);
  return {
    path,
    async dispose() {
      await rm(path, { recursive: true, force: true });
      release();
    },
  };
}
