// Ctrl-C once the drive is being written: nothing can be undone, so it says
// the drive is partially written and must be flashed again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../helpers/rootfs.js";
import { spawnFlash } from "./helpers.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ path: dir, cleanup } = await tempDir("shimboot-flash-int-"));
});
afterAll(async () => {
  await cleanup();
});

const GiB = 1024 * 1024 * 1024;

async function sparse(path: string, bytes: number) {
  await writeFile(path, "");
  await truncate(path, bytes);
  return path;
}

describe("shimboot flash interrupted", () => {
  it("says the drive is partially written and exits 130 on Ctrl-C during writing", async () => {
    // a large image (checks skipped) so the write is still running when the signal comes
    const image = await sparse(join(dir, "large.bin"), 2 * GiB);
    const target = await sparse(join(dir, "target.bin"), 2 * GiB);
    const { child, done } = await spawnFlash([image, target, "--allow-file", "--yes", "--no-verify"]);
    // the first written block means the write has begun
    const deadline = Date.now() + 30_000;
    while ((await stat(target)).blocks === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    child.kill("SIGINT");
    const r = await done;
    expect(r.stderr).toContain(`shimboot: interrupted (SIGINT) while writing ${target}: the drive is now partially written and will not boot; flash it again`);
    expect(r.code).toBe(130);
    expect(r.stdout).toBe("");
  });
});
