// Trees copied out of a file system in one debugfs process, and the names
// that are never handed to it.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdir, readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { dumpTrees, type ExtFs } from "../../scripts/read/extfs.js";
import { makeRootfsDir, makeRootfsImage, tempDir } from "../helpers/rootfs.js";

let t: Awaited<ReturnType<typeof tempDir>>;
let fs: ExtFs;
beforeAll(async () => {
  t = await tempDir();
  const img = await makeRootfsImage(await makeRootfsDir(join(t.path, "tree")), join(t.path, "root.img"), 16);
  fs = { spec: img, where: "root.img (test)" };
});
afterAll(() => t.cleanup());

describe("copying trees out of a file system", () => {
  it("copies several trees with one process, each where it was asked", async () => {
    const a = join(t.path, "a");
    const b = join(t.path, "b");
    await mkdir(a);
    await mkdir(b);
    await dumpTrees(fs, [["/etc", a], ["/sbin", b]]);
    expect(await readdir(join(a, "etc"))).toContain("hostname");
    expect(await readFile(join(b, "sbin/init"), "utf8")).toContain("shimboot-test-init");
  });

  it("refuses a path with a quote or a line break instead of passing it to debugfs", async () => {
    for (const bad of ['/lib/modules/5.4"', "/lib/modules/5.4\nrdump / /tmp"]) {
      await expect(dumpTrees(fs, [[bad, t.path]])).rejects.toThrow(/has a path shimboot will not pass to debugfs/);
    }
  });

  it("blames the working directory, not the image, when TMPDIR holds a quote", async () => {
    await expect(dumpTrees(fs, [["/etc", join(t.path, 'odd"dir')]])).rejects.toThrow(/working directory's path holds a quote/);
  });

  it("names the file system when it cannot be opened", async () => {
    await expect(dumpTrees({ spec: join(t.path, "missing.img"), where: "missing.img (test)" }, [["/etc", t.path]])).rejects.toThrow(/not a readable ext2\/ext4 file system/);
  });
});
