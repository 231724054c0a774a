// A whole image copied into the output by worker threads, with its block
// hash (SHA-256 of its 4 MiB blocks' SHA-256s) computed in the same pass.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { $ } from "zx";
import { stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { blockTasks, copyAndHash } from "../../scripts/write/block-copy.js";
import { bytes } from "../../scripts/lib/units.js";
import { UserError } from "../../scripts/lib/errors.js";
import { coreutilsBlockHash } from "../helpers/block-hash.js";
import { makeRootfsDir, makeRootfsImage, tempDir } from "../helpers/rootfs.js";

$.quiet = true;
let t: Awaited<ReturnType<typeof tempDir>>;
let src: string;
const OFFSET = 3 * 1024 * 1024;
const MiB = 1024 * 1024;
beforeAll(async () => {
  t = await tempDir();
  src = await makeRootfsImage(await makeRootfsDir(join(t.path, "tree"), { bulkBytes: 4 * MiB }), join(t.path, "root.img"), 32);
});
afterAll(() => t.cleanup());

async function emptyFile(name: string, size = 64 * MiB): Promise<string> {
  const dest = join(t.path, name);
  await writeFile(dest, "");
  await truncate(dest, size);
  return dest;
}

describe("copying an image and hashing it by blocks", () => {
  it("splits the data extents at block boundaries, one task per block that holds data", () => {
    const tasks = blockTasks(10 * MiB, [{ offset: 1 * MiB, length: 4 * MiB }, { offset: 9 * MiB, length: 1 * MiB }], 4 * MiB);
    expect(tasks).toEqual([
      { start: 0, end: 4 * MiB, writes: [[1 * MiB, 3 * MiB]] },
      { start: 4 * MiB, end: 8 * MiB, writes: [[4 * MiB, 1 * MiB]] },
      { start: 8 * MiB, end: 10 * MiB, writes: [[9 * MiB, 1 * MiB]] },
    ]);
  });

  it("gives the hash coreutils gives (split into 4 MiB blocks, SHA-256 of their SHA-256s)", async () => {
    const dest = await emptyFile("hashed.img");
    expect(await copyAndHash(src, dest, bytes(OFFSET))).toBe(await coreutilsBlockHash(src));
  });

  it("copies every byte to the offset and keeps the holes", async () => {
    const dest = await emptyFile("copied.img");
    await copyAndHash(src, dest, bytes(OFFSET));
    expect((await $`cmp -n ${32 * MiB} -i 0:${OFFSET} ${src} ${dest}`.nothrow()).exitCode).toBe(0);
    expect((await stat(dest)).blocks).toBeLessThanOrEqual((await stat(src)).blocks + 8);
    expect((await stat(dest)).size).toBe(64 * MiB);
  });

  it("hashes a file that ends in a hole and whose size is no multiple of the block", async () => {
    const odd = join(t.path, "odd.bin");
    await writeFile(odd, Buffer.alloc(5 * MiB + 123, 0xab));
    await truncate(odd, 20 * MiB + 7);
    const dest = await emptyFile("odd-copy.bin", 0);
    expect(await copyAndHash(odd, dest, bytes(0))).toBe(await coreutilsBlockHash(odd));
    expect((await $`cmp -n ${20 * MiB + 7} ${odd} ${dest}`.nothrow()).exitCode).toBe(0);
  });

  it("gives the same hash whether the zeros are holes or written out", async () => {
    const dense = join(t.path, "dense.img");
    await $`cp --sparse=never ${src} ${dense}`;
    expect((await stat(dense)).blocks).toBeGreaterThan((await stat(src)).blocks);
    expect(await copyAndHash(dense, null, bytes(0))).toBe(await copyAndHash(src, null, bytes(0)));
  });

  it("leaves all-zero data as holes in the copy", async () => {
    const zeros = join(t.path, "zeros.bin");
    await writeFile(zeros, Buffer.alloc(8 * MiB));
    const dest = await emptyFile("zeros-copy.bin", 8 * MiB);
    expect(await copyAndHash(zeros, dest, bytes(0))).toBe(await coreutilsBlockHash(zeros));
    expect((await stat(dest)).blocks).toBe(0);
  });

  it("hashes an empty file as the SHA-256 of nothing", async () => {
    const empty = await emptyFile("empty.bin", 0);
    expect(await copyAndHash(empty, null, bytes(0))).toBe((await $`printf '' | sha256sum`).stdout.split(" ")[0]);
  });

  it("stops when aborted, with the abort's reason", async () => {
    const dest = await emptyFile("aborted.img");
    const abort = new AbortController();
    abort.abort(new Error("interrupted"));
    await expect(copyAndHash(src, dest, bytes(OFFSET), abort.signal)).rejects.toThrow("interrupted");
  });

  it("says which file is unreadable, as the user's error", async () => {
    const err = await copyAndHash(join(t.path, "missing.img"), null, bytes(0)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).format()).toMatch(/missing\.img: cannot be read \(ENOENT\)/);
  });
});
