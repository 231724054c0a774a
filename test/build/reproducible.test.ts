// Same inputs, same bytes: GUIDs, UUIDs, hash seeds and times all derive
// from the inputs and SOURCE_DATE_EPOCH.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { chmod, mkdir, stat, utimes } from "node:fs/promises";
import { join } from "node:path";
import { buildImage } from "../helpers/build.js";
import { sha256 } from "../helpers/image.js";
import { makeRootfsDir, makeRootfsImage, tempDir } from "../helpers/rootfs.js";

let t: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  t = await tempDir();
});
afterAll(() => t.cleanup());

async function twice(rootfs: string, args: string[] = [], between?: () => Promise<void>) {
  const hashes: string[] = [];
  for (const n of ["a", "b"]) {
    const d = join(t.path, `${n}-${Math.random().toString(36).slice(2)}`);
    await mkdir(d);
    const r = await buildImage(d, { rootfs, args, env: { SOURCE_DATE_EPOCH: "1700000000" } });
    expect(r.code, r.stderr).toBe(0);
    hashes.push(await sha256(r.out));
    if (between && n === "a") await between();
  }
  return hashes;
}

describe("reproducibility", () => {
  it("builds the same bytes twice from a directory rootfs, even after its files were read", async () => {
    const dir = await makeRootfsDir(join(t.path, "tree1"));
    const [a, b] = await twice(dir, [], async () => {
      // atime and ctime of the source change between builds (mtime is content
      // and stays): the image must not change
      const f = join(dir, "etc/hostname");
      const st = await stat(f);
      await utimes(f, new Date(), st.mtime);
      await chmod(f, st.mode & 0o7777);
      await new Promise((r) => setTimeout(r, 1100));
    });
    expect(b).toBe(a);
  });

  it("builds the same bytes twice from an ext4 image with vendor drivers and Wi-Fi", async () => {
    const dir = await makeRootfsDir(join(t.path, "tree2"));
    const img = await makeRootfsImage(dir, join(t.path, "root.img"));
    const [a, b] = await twice(img, ["--drivers", "vendor"], () => new Promise((r) => setTimeout(r, 1100)));
    expect(b).toBe(a);
  });

  it("gives a different image when an input changes", async () => {
    const dir = await makeRootfsDir(join(t.path, "tree3"));
    const [a] = await twice(dir);
    const [c] = await twice(dir, ["--name", "other"]);
    expect(c).not.toBe(a);
  });
});
